import { LorasmithError } from '../../core/errors.ts';
import { ACCEPTED_TYPES_TEXT } from './image-types.ts';

/**
 * An image that is not imported: in an archive it is skipped and its message goes into the import report;
 * uploaded alone it is refused with the same message (ARC-R06).
 */
export function imageRefused(params: { file: string; reason: string }): LorasmithError {
  return new LorasmithError({
    code: 'image-refused',
    message: `${JSON.stringify(params.file.slice(0, 200))} was not imported: ${params.reason}. Accepted: ${ACCEPTED_TYPES_TEXT}.`,
    hint: 'Convert the image to PNG or JPEG (and under 100 megapixels) and import it again.',
    exitCode: 1,
    status: 422,
  });
}

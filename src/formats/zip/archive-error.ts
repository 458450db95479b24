import { LorasmithError } from '../../core/errors.ts';

/**
 * A refused archive: the whole import stops (ARC-R06). `entry` names where the problem is; the hint says
 * what the user can do, which for a hostile or broken archive is always to re-create it from plain files.
 */
export function archiveError(params: { code: string; reason: string; entry?: string; hint?: string; what?: string }): LorasmithError {
  const where = params.entry === undefined ? 'The archive' : `The ${params.what ?? 'archive entry'} ${JSON.stringify(params.entry.slice(0, 200))}`;
  return new LorasmithError({
    code: `archive.${params.code}`,
    message: `${where} was refused: ${params.reason}.`,
    hint: params.hint ?? 'Nothing was imported. Re-create the archive from plain image and caption files (e.g. with "zip -r") and try again.',
    exitCode: 1,
    status: 422,
    ...(params.entry === undefined ? {} : { details: { entry: params.entry.slice(0, 1024) } }),
  });
}

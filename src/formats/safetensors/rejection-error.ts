import { LorasmithError } from '../../core/errors.ts';
import type { SafetensorsRejection, SafetensorsRejectionCode } from './types.ts';

const HINTS: Partial<Record<SafetensorsRejectionCode, string>> = {
  'st.header_too_large': 'The header is larger than lorasmith accepts (25 MB by default). Re-save the file with fewer tensors or less metadata, or raise the header cap in settings if you trust the file.',
  'st.duplicate_key': 'The header lists the same key twice; readers disagree on which entry wins, so the file is refused. Re-save it with safetensors.',
  'st.buffer_length': 'The file has extra bytes after the tensors or is truncated. Download it again; a file with a hidden tail is refused on purpose.',
  'st.tensor_entry': 'Each tensor entry must have exactly "dtype", "shape" and "data_offsets". Re-save the file with the safetensors library.',
  'st.tensor_name': 'Tensor names must be 1..1024 bytes without control characters. Rename the tensors and re-save.',
};

const DEFAULT_HINT = 'The file is not a valid safetensors file. Download it again or re-save it with the safetensors library.';

/** Turn a validator verdict into the error a user sees: what is wrong, in which file, and what to do. */
export function safetensorsRejectionError(params: { reason: SafetensorsRejection; file: string }): LorasmithError {
  const { reason, file } = params;
  return new LorasmithError({
    code: 'safetensors.invalid',
    message: `${file} is not a valid safetensors file: ${reason.message}`,
    hint: HINTS[reason.code] ?? DEFAULT_HINT,
    exitCode: 1,
    status: 422,
    details: { reason: reason.code, ...(reason.offset === undefined ? {} : { offset: reason.offset }) },
  });
}

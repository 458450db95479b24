/**
 * Tensor-name policy (ST-R07): 1..1024 UTF-8 bytes, no control characters U+0000–U+001F or U+007F.
 * Everything else, `../../x` and `<img …>` included, is accepted as data: names are never paths,
 * templates or HTML (ST-R08), so the UI escapes them and nothing joins them into a path.
 */
export const MAX_TENSOR_NAME_BYTES = 1024;

const CONTROL = /[\u0000-\u001f\u007f]/;

/** Returns why the name is refused, or `undefined` when it is acceptable. */
export function tensorNameProblem(name: string, maxBytes = MAX_TENSOR_NAME_BYTES): string | undefined {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) return 'is empty';
  if (bytes > maxBytes) return `is ${bytes} bytes long (limit ${maxBytes})`;
  if (CONTROL.test(name)) return 'contains a control character';
  return undefined;
}

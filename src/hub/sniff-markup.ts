/**
 * DL-R09: an HTML or JSON body (a login page, an error document, an S3 XML error) is never kept as a
 * model. This only recognises markup; deciding the model format is `formats/`'s job (magic bytes).
 */
const MARKUP_PREFIXES = ['<!doctype', '<html', '<head', '<body', '<?xml', '<!--', '<title', '<meta', '<script', '<error', '<h1', '<p>', '<div'];

export type MarkupKind = 'html' | 'json';

/** Look at the first bytes of a file: `html` (also XML), `json`, or undefined for anything else. */
export function sniffMarkup(head: Uint8Array): MarkupKind | undefined {
  let start = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) start = 3;
  while (start < head.length && (head[start] === 0x20 || head[start] === 0x09 || head[start] === 0x0a || head[start] === 0x0d)) start += 1;
  const first = head[start];
  if (first === undefined) return undefined;
  if (first === 0x3c) {
    const text = Buffer.from(head.subarray(start, start + 16)).toString('latin1').toLowerCase();
    return MARKUP_PREFIXES.some((prefix) => text.startsWith(prefix)) ? 'html' : undefined;
  }
  if (first === 0x7b || first === 0x5b) {
    // A safetensors length prefix may start with 0x7b too, but its upper bytes are NUL: text has none.
    for (let i = start; i < head.length; i += 1) {
      const byte = head[i] ?? 0;
      if (byte < 0x09 || (byte > 0x0d && byte < 0x20)) return undefined;
    }
    return 'json';
  }
  return undefined;
}

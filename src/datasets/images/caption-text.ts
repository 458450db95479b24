/**
 * Captions (ARC-R06): UTF-8 text of at most the caption limit (64 KiB by default). A BOM is dropped
 * (kohya would keep it as the caption's first character); NUL bytes and empty captions are refused, the
 * latter because kohya fails an assertion on an empty caption file.
 */
import { open } from 'node:fs/promises';
import { LorasmithError } from '../../core/errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function captionRefused(name: string, reason: string): LorasmithError {
  return new LorasmithError({
    code: 'caption-refused',
    message: `The caption ${JSON.stringify(name.slice(0, 200))} was not imported: ${reason}.`,
    hint: 'Save captions as plain UTF-8 text, one caption per image, and import them again.',
    exitCode: 1,
    status: 422,
  });
}

export function checkCaptionText(params: { bytes: Uint8Array; name: string; maxBytes: number }): string {
  const { bytes, name, maxBytes } = params;
  if (bytes.length > maxBytes) throw captionRefused(name, `it is ${bytes.length} bytes, over the ${maxBytes}-byte limit`);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw captionRefused(name, 'it is not UTF-8 text');
  }
  if (text.includes('\u0000')) throw captionRefused(name, 'it holds NUL bytes (it is not text)');
  if (text.trim() === '') throw captionRefused(name, 'it is empty');
  return text;
}

/** Read a caption file without ever reading more than the limit (plus one byte, to know it is over). */
export async function readCaptionFile(params: { file: string; name: string; maxBytes: number }): Promise<string> {
  const handle = await open(params.file, 'r');
  try {
    const buffer = new Uint8Array(params.maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) break;
    }
    return checkCaptionText({ bytes: buffer.subarray(0, length), name: params.name, maxBytes: params.maxBytes });
  } finally {
    await handle.close();
  }
}

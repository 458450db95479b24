/**
 * File names from untrusted sources (ARC-R07): upload names, hub file names, archive entries segment by
 * segment. NFC-normalised, invisible and control characters stripped, separators removed; empty results,
 * Windows reserved names and trailing dots or spaces refused; at most 200 bytes.
 */
import { LorasmithError } from './errors.ts';

const MAX_NAME_BYTES = 200;
// C0, DEL, C1 controls; bidi and zero-width characters named by ARC-R07.
const STRIPPED = /[\u0000-\u001f\u007f-\u009f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
const SEPARATORS = /[/\\]/g;
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;

function refused(original: string, reason: string): LorasmithError {
  return new LorasmithError({
    code: 'file-name-refused',
    message: `The file name ${JSON.stringify(original.slice(0, 120))} was refused: ${reason}.`,
    hint: 'Rename the file to a plain name such as "photo-01.png" and try again.',
    status: 400,
  });
}

export function sanitizeFileName(original: string): string {
  const name = original.normalize('NFC').replace(STRIPPED, '').replace(SEPARATORS, '').replace(/:/g, '');
  if (name === '' || name === '.' || name === '..') throw refused(original, 'nothing usable is left of it');
  if (RESERVED.test(name)) throw refused(original, 'it is a reserved device name on Windows');
  if (/[. ]$/.test(name)) throw refused(original, 'it ends with a dot or a space');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw refused(original, `it is longer than ${MAX_NAME_BYTES} bytes`);
  return name;
}

import { open } from 'node:fs/promises';
import { looksLikeOnnxModel } from './onnx/inspect.ts';
import { readFailed, readFully } from './read-head.ts';

/**
 * Content detection (model-file-security.md PKL-R03, §1.3): the leading bytes decide the format, never the
 * file name. `pickle-candidate` and `other` must both go to the pickle scanner: protocol 0/1 pickles have
 * no magic, so no result here ever proves a file is not a pickle.
 */
export type DetectedFormat =
  | 'zip'
  | '7z'
  | 'gzip'
  | 'bz2'
  | 'xz'
  | 'lzma'
  | 'lz4'
  | 'zstd'
  | 'zlib'
  | 'joblib-zf'
  | 'tar'
  | 'npy'
  | 'gguf'
  | 'safetensors'
  | 'onnx'
  | 'pickle-candidate'
  | 'other';

/** Enough for tar's `ustar` at offset 257 and a look into a safetensors or ONNX header. */
export const DETECT_HEAD_BYTES = 512;

const SAFETENSORS_MAX_HEADER = 100_000_000n;

/** Unambiguous magics: four or more bytes at a fixed offset (§1.3; zstd per RFC 8878). */
const LONG_MAGICS: ReadonlyArray<readonly [DetectedFormat, number, readonly number[]]> = [
  ['zip', 0, [0x50, 0x4b, 0x03, 0x04]], // torch's _is_zipfile: at offset 0 only
  ['7z', 0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]],
  ['xz', 0, [0xfd, 0x37, 0x7a, 0x58, 0x5a]],
  ['lz4', 0, [0x04, 0x22, 0x4d, 0x18]],
  ['zstd', 0, [0x28, 0xb5, 0x2f, 0xfd]],
  ['npy', 0, [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]],
  ['gguf', 0, [0x47, 0x47, 0x55, 0x46]],
  ['tar', 257, [0x75, 0x73, 0x74, 0x61, 0x72]], // "ustar"
];

/**
 * Two-byte prefixes (§1.3, joblib's compressors). They are checked after safetensors, because a
 * safetensors length can begin with any two bytes (a 93-byte header starts `5D 00`, like lzma).
 */
const SHORT_MAGICS: ReadonlyArray<readonly [DetectedFormat, readonly number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['bz2', [0x42, 0x5a]],
  ['joblib-zf', [0x5a, 0x46]],
  ['lzma', [0x5d, 0x00]],
];

/** Opcode bytes of pickle protocols 0–5 (Appendix A): a protocol 0/1 pickle starts with one of them. */
const PICKLE_OPCODES = new Set<number>([
  0x49, 0x4a, 0x4b, 0x4d, 0x4c, 0x8a, 0x8b, 0x53, 0x54, 0x55, 0x42, 0x43, 0x8e, 0x96, 0x97, 0x98, 0x4e,
  0x88, 0x89, 0x56, 0x8c, 0x58, 0x8d, 0x46, 0x47, 0x63, 0x93, 0x52, 0x62, 0x69, 0x6f, 0x81, 0x50, 0x5d,
  0x61, 0x65, 0x6c, 0x29, 0x74, 0x85, 0x86, 0x87, 0x7d, 0x64, 0x73, 0x75, 0x8f, 0x90, 0x91, 0x30, 0x32,
  0x28, 0x31, 0x67, 0x68, 0x6a, 0x70, 0x71, 0x72, 0x94, 0x82, 0x83, 0x84, 0x80, 0x2e, 0x92, 0x95, 0x51,
]);

const startsWith = (head: Uint8Array, offset: number, magic: readonly number[]): boolean =>
  magic.every((byte, i) => head[offset + i] === byte);

export function detectFormat(params: { head: Uint8Array; fileSize?: number }): DetectedFormat {
  const { head } = params;
  for (const [format, offset, magic] of LONG_MAGICS) if (startsWith(head, offset, magic)) return format;
  if (isSafetensorsPlausible(head, params.fileSize)) return 'safetensors';
  for (const [format, magic] of SHORT_MAGICS) if (startsWith(head, 0, magic)) return format;
  // zlib (joblib): CMF 0x78 with the RFC 1950 header check (CMF·256 + FLG divisible by 31).
  if (head[0] === 0x78 && head[1] !== undefined && (0x78 * 256 + head[1]) % 31 === 0) return 'zlib';
  if (looksLikeOnnxModel(head)) return 'onnx';
  const first = head[0];
  if (first === 0x80) return (head[1] ?? 0xff) <= 5 ? 'pickle-candidate' : 'other';
  if (first !== undefined && PICKLE_OPCODES.has(first)) return 'pickle-candidate';
  return 'other';
}

/**
 * safetensors-plausible: a u64 length within the reference cap (and the file), then optional JSON
 * whitespace and `{`. Only a hint: the validator decides.
 */
function isSafetensorsPlausible(head: Uint8Array, fileSize: number | undefined): boolean {
  if (head.length < 9) return false;
  const length = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  if (length < 2n || length > SAFETENSORS_MAX_HEADER) return false;
  if (fileSize !== undefined && 8n + length > BigInt(fileSize)) return false;
  const end = Math.min(head.length, 8 + Number(length));
  for (let i = 8; i < end; i += 1) {
    const byte = head[i];
    if (byte === 0x7b) return true;
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return false;
  }
  return false;
}

/** Read the first bytes of a file and detect its format from content. */
export async function detectFileFormat(params: { path: string }): Promise<{ format: DetectedFormat; fileSize: number }> {
  try {
    const handle = await open(params.path, 'r');
    try {
      const { size } = await handle.stat();
      const head = new Uint8Array(Math.min(DETECT_HEAD_BYTES, size));
      const done = await readFully(handle, head, 0);
      return { format: detectFormat({ head: head.subarray(0, done), fileSize: size }), fileSize: size };
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw readFailed(params.path, error);
  }
}

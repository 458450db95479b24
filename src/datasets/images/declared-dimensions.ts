/**
 * Each type's declared width and height, read from its header with bounded reads (ARC-R06), so a
 * 100000×100000 header in a 5 KB file is refused before any decoder allocates a pixel; and whether a JPEG
 * header leaves room for an EXIF orientation at all.
 */
import type { ByteSource } from '../../formats/torch/byte-source.ts';
import type { ImageType } from './image-types.ts';

export interface Dimensions {
  width: number;
  height: number;
}

/** Bounds the box and marker walks so a crafted header cannot keep us reading. */
const MAX_STEPS = 10_000;
const MAX_BOX_DEPTH = 4;

const ascii = (bytes: Uint8Array, offset: number, length: number): string => String.fromCharCode(...bytes.subarray(offset, offset + length));
const dv = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

async function png(source: ByteSource): Promise<Dimensions | undefined> {
  const head = await source.read(0, 24);
  if (ascii(head, 12, 4) !== 'IHDR') return undefined;
  return { width: dv(head).getUint32(16), height: dv(head).getUint32(20) };
}

async function gif(source: ByteSource): Promise<Dimensions> {
  const head = dv(await source.read(0, 10));
  return { width: head.getUint16(6, true), height: head.getUint16(8, true) };
}

async function bmp(source: ByteSource): Promise<Dimensions> {
  const head = dv(await source.read(0, 26));
  if (head.getUint32(14, true) === 12) return { width: head.getUint16(18, true), height: head.getUint16(20, true) };
  // A negative height means rows run top-down; the magnitude is the height.
  return { width: Math.abs(head.getInt32(18, true)), height: Math.abs(head.getInt32(22, true)) };
}

async function webp(source: ByteSource): Promise<Dimensions | undefined> {
  const head = await source.read(0, 30);
  const view = dv(head);
  switch (ascii(head, 12, 4)) {
    case 'VP8 ':
      return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
    case 'VP8L': {
      const bits = view.getUint32(21, true);
      return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    case 'VP8X':
      return { width: (view.getUint32(24, true) & 0xffffff) + 1, height: (view.getUint32(27, true) & 0xffffff) + 1 };
    default:
      return undefined;
  }
}

async function tiff(source: ByteSource): Promise<Dimensions | undefined> {
  const head = await source.read(0, 8);
  const little = head[0] === 0x49;
  const ifd = dv(head).getUint32(4, little);
  const count = dv(await source.read(ifd, 2)).getUint16(0, little);
  const entries = dv(await source.read(ifd + 2, count * 12));
  let width: number | undefined;
  let height: number | undefined;
  for (let i = 0; i < count; i++) {
    const at = i * 12;
    const tag = entries.getUint16(at, little);
    const type = entries.getUint16(at + 2, little);
    const value = type === 3 ? entries.getUint16(at + 8, little) : type === 4 ? entries.getUint32(at + 8, little) : undefined;
    if (tag === 256) width = value;
    if (tag === 257) height = value;
  }
  return width === undefined || height === undefined ? undefined : { width, height };
}

const JPEG_SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

interface JpegSegment {
  code: number;
  /** Offset of the marker's 0xFF. */
  at: number;
}

/**
 * The marker segments from SOI on, up to and including the first scan (SOS) or an end of image; stops at a
 * malformed marker. A read past the end throws `formats.read_range`.
 */
async function* jpegSegments(source: ByteSource): AsyncGenerator<JpegSegment> {
  let at = 2;
  for (let step = 0; step < MAX_STEPS; step++) {
    const marker = await source.read(at, 2);
    if (marker[0] !== 0xff) return;
    const code = marker[1] ?? 0;
    if (code === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (code === 0xd8 || code === 0x01 || (code >= 0xd0 && code <= 0xd7)) {
      at += 2;
      continue;
    }
    if (code === 0xd9 || code === 0xda) {
      yield { code, at };
      return;
    }
    const length = dv(await source.read(at + 2, 2)).getUint16(0);
    if (length < 2) return;
    yield { code, at };
    at += 2 + length;
  }
}

async function jpeg(source: ByteSource): Promise<Dimensions | undefined> {
  for await (const { code, at } of jpegSegments(source)) {
    if (code === 0xd9 || code === 0xda) return undefined; // end of image or scan data before any frame header
    if (JPEG_SOF.has(code)) {
      const frame = dv(await source.read(at + 4, 5));
      return { width: frame.getUint16(3), height: frame.getUint16(1) };
    }
  }
  return undefined;
}

/**
 * Whether a JPEG may carry EXIF (and so an orientation): false only when no APP1 segment, where EXIF and
 * XMP live, comes before the first scan; libjpeg hands the decoder only the markers before it.
 */
export async function jpegMayHaveExif(source: ByteSource): Promise<boolean> {
  for await (const { code } of jpegSegments(source)) {
    if (code === 0xda) return false;
    if (code === 0xe1 || code === 0xd9) return true;
  }
  return true;
}

interface Box {
  type: string;
  start: number;
  end: number;
}

async function* boxes(source: ByteSource, start: number, end: number): AsyncGenerator<Box> {
  let at = start;
  for (let step = 0; step < MAX_STEPS && at + 8 <= end; step++) {
    const head = await source.read(at, 8);
    let size = dv(head).getUint32(0);
    let headerLength = 8;
    if (size === 1) {
      const large = dv(await source.read(at + 8, 8)).getBigUint64(0);
      if (large > BigInt(end - at)) return;
      size = Number(large);
      headerLength = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < headerLength || at + size > end) return;
    yield { type: ascii(head, 4, 4), start: at + headerLength, end: at + size };
    at += size;
  }
}

/**
 * HEIF/AVIF: every `ispe` (image spatial extent) property under meta → iprp → ipco. All must be within the
 * limits, so the largest of each side is reported.
 */
async function isoBmff(source: ByteSource): Promise<Dimensions | undefined> {
  let width = 0;
  let height = 0;
  const walk = async (start: number, end: number, depth: number): Promise<void> => {
    if (depth > MAX_BOX_DEPTH) return;
    for await (const box of boxes(source, start, end)) {
      if (box.type === 'meta') await walk(box.start + 4, box.end, depth + 1); // a FullBox: version and flags first
      else if (box.type === 'iprp' || box.type === 'ipco') await walk(box.start, box.end, depth + 1);
      else if (box.type === 'ispe' && box.end - box.start >= 12) {
        const extent = dv(await source.read(box.start + 4, 8));
        width = Math.max(width, extent.getUint32(0));
        height = Math.max(height, extent.getUint32(4));
      }
    }
  };
  await walk(0, source.size, 0);
  return width === 0 || height === 0 ? undefined : { width, height };
}

const READERS: Readonly<Record<ImageType, (source: ByteSource) => Promise<Dimensions | undefined>>> = {
  png,
  jpeg,
  webp,
  gif,
  bmp,
  tiff,
  avif: isoBmff,
  heic: isoBmff,
};

/** The header's dimensions, or undefined when the header is malformed; a short file throws `formats.read_range`. */
export function readDeclaredDimensions(params: { source: ByteSource; type: ImageType }): Promise<Dimensions | undefined> {
  return READERS[params.type](params.source);
}

/**
 * Image types by magic bytes, never by extension (ARC-R06). PNG, JPEG and WebP are kept as they are; GIF
 * (first frame), BMP, TIFF, AVIF and HEIC (when the installed decoder reads it) become PNG. kohya reads
 * only .png .jpg .jpeg .webp .bmp, so everything lands as one of the first three.
 */
export const IMAGE_TYPES = ['png', 'jpeg', 'webp', 'gif', 'bmp', 'tiff', 'avif', 'heic'] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];
export type StoredImageFormat = 'png' | 'jpeg' | 'webp';

export const TYPE_LABELS: Readonly<Record<ImageType, string>> = {
  png: 'PNG',
  jpeg: 'JPEG',
  webp: 'WebP',
  gif: 'GIF',
  bmp: 'BMP',
  tiff: 'TIFF',
  avif: 'AVIF',
  heic: 'HEIC',
};

/** For messages: what an import takes. */
export const ACCEPTED_TYPES_TEXT = 'PNG, JPEG and WebP (kept), GIF, BMP, TIFF and AVIF (converted to PNG)';

/** Bytes `sniffImageType` needs: an ftyp box's brands, an SVG's opening tag. */
export const SNIFF_BYTES = 512;

/** Extensions of files an archive or folder import treats as images; the content still decides. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.png', '.jpg', '.jpeg', '.jpe', '.jfif', '.webp', '.gif', '.bmp', '.dib', '.tif', '.tiff', '.avif', '.heic', '.heif', '.svg', '.svgz', '.jxl', '.jp2', '.ico',
]);

export function storedFormatOf(type: ImageType): StoredImageFormat {
  return type === 'jpeg' || type === 'webp' ? type : 'png';
}

const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs', 'mif1', 'msf1']);
const AVIF_BRANDS = new Set(['avif', 'avis']);

const has = (head: Uint8Array, offset: number, bytes: readonly number[]): boolean => bytes.every((byte, i) => head[offset + i] === byte);
const ascii = (head: Uint8Array, offset: number, length: number): string => String.fromCharCode(...head.subarray(offset, offset + length));

/** The ISO-BMFF `ftyp` brands (major, then compatible): AVIF wins when listed, as libheif decides by codec. */
function isoBrandType(head: Uint8Array): ImageType | undefined {
  if (head.length < 16 || ascii(head, 4, 4) !== 'ftyp') return undefined;
  const size = Math.min(head.length, ((head[0] ?? 0) << 24) | ((head[1] ?? 0) << 16) | ((head[2] ?? 0) << 8) | (head[3] ?? 0));
  const brands = [ascii(head, 8, 4)];
  for (let at = 16; at + 4 <= size; at += 4) brands.push(ascii(head, at, 4));
  if (brands.some((brand) => AVIF_BRANDS.has(brand))) return 'avif';
  if (brands.some((brand) => HEIC_BRANDS.has(brand))) return 'heic';
  return undefined;
}

/** A name for a type that is not imported, so the message can say what the file is. */
function otherLabel(head: Uint8Array): string {
  const text = ascii(head, 0, Math.min(head.length, SNIFF_BYTES)).trimStart().toLowerCase();
  if (text.startsWith('<svg') || (text.startsWith('<?xml') && text.includes('<svg'))) return 'SVG';
  if (text.startsWith('%pdf')) return 'PDF';
  if (has(head, 0, [0xff, 0x0a]) || has(head, 4, [0x4a, 0x58, 0x4c, 0x20])) return 'JPEG XL';
  if (has(head, 4, [0x6a, 0x50, 0x20, 0x20])) return 'JPEG 2000';
  if (has(head, 0, [0x49, 0x49, 0x2b, 0x00]) || has(head, 0, [0x4d, 0x4d, 0x00, 0x2b])) return 'BigTIFF';
  if (has(head, 0, [0x00, 0x00, 0x01, 0x00])) return 'ICO';
  if (ascii(head, 0, 4) === '8BPS') return 'Photoshop (PSD)';
  if (ascii(head, 4, 4) === 'ftyp') return `ISO media (${ascii(head, 8, 4).replace(/[^\x20-\x7e]/g, '?')})`;
  if (has(head, 0, [0x50, 0x4b, 0x03, 0x04])) return 'a zip archive';
  return 'an unrecognised format';
}

export type SniffResult = { type: ImageType } | { type: undefined; label: string };

export function sniffImageType(head: Uint8Array): SniffResult {
  if (has(head, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { type: 'png' };
  if (has(head, 0, [0xff, 0xd8, 0xff])) return { type: 'jpeg' };
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'WEBP') return { type: 'webp' };
  if (has(head, 0, [0x47, 0x49, 0x46, 0x38]) && (head[4] === 0x37 || head[4] === 0x39) && head[5] === 0x61) return { type: 'gif' };
  if (has(head, 0, [0x42, 0x4d])) return { type: 'bmp' };
  if (has(head, 0, [0x49, 0x49, 0x2a, 0x00]) || has(head, 0, [0x4d, 0x4d, 0x00, 0x2a])) return { type: 'tiff' };
  const iso = isoBrandType(head);
  if (iso !== undefined) return { type: iso };
  return { type: undefined, label: otherLabel(head) };
}

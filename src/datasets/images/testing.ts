/**
 * Test helpers: images generated with sharp (noisy pixels, so deflate cannot shrink them past the ratio
 * limit), a tiny BMP encoder (sharp has no BMP output) and crafted headers. Nothing here is used by the product.
 */
import sharp from 'sharp';

export function noise(width: number, height: number, channels: 3 | 4 = 3, seed = 1): Buffer {
  const data = Buffer.alloc(width * height * channels);
  let state = seed * 2654435761;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = state >>> 24;
  }
  return data;
}

const rawInput = (width: number, height: number, seed = 1) => sharp(noise(width, height, 3, seed), { raw: { width, height, channels: 3 } });

export const pngImage = (width = 32, height = 24, seed = 1): Promise<Buffer> => rawInput(width, height, seed).png().toBuffer();
export const jpegImage = (width = 32, height = 24, orientation?: number): Promise<Buffer> => {
  const image = rawInput(width, height).jpeg();
  return (orientation === undefined ? image : image.withMetadata({ orientation })).toBuffer();
};
export const webpImage = (width = 32, height = 24): Promise<Buffer> => rawInput(width, height).webp().toBuffer();
export const tiffImage = (width = 32, height = 24): Promise<Buffer> => rawInput(width, height).tiff().toBuffer();
export const avifImage = (width = 32, height = 24): Promise<Buffer> => rawInput(width, height).avif().toBuffer();

/** An animated GIF whose frames have the given sizes' first frame noise and the rest solid red. */
export async function animatedGif(width = 16, height = 12, frames = 3): Promise<Buffer> {
  const first = await pngImage(width, height);
  const rest = await sharp({ create: { width, height, channels: 3, background: 'red' } }).png().toBuffer();
  return sharp([first, ...Array.from({ length: frames - 1 }, () => rest)], { join: { animated: true } }).gif().toBuffer();
}

/** A 24-bit bottom-up BMP (BITMAPINFOHEADER). */
export function bmpImage(width = 8, height = 6): Buffer {
  const pixels = noise(width, height);
  const stride = Math.ceil((width * 3) / 4) * 4;
  const header = Buffer.alloc(54);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(54 + stride * height, 2);
  header.writeUInt32LE(54, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(width, 18);
  header.writeInt32LE(height, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(24, 28);
  const body = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (y * width + x) * 3;
      const to = (height - 1 - y) * stride + x * 3;
      body[to] = pixels[from + 2] ?? 0;
      body[to + 1] = pixels[from + 1] ?? 0;
      body[to + 2] = pixels[from] ?? 0;
    }
  }
  return Buffer.concat([header, body]);
}

/** A PNG signature and IHDR that declare `width`×`height`, followed by nothing decodable (ARC-A16). */
export function pngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(25);
  ihdr.writeUInt32BE(13, 0);
  ihdr.write('IHDR', 4, 'latin1');
  ihdr.writeUInt32BE(width, 8);
  ihdr.writeUInt32BE(height, 12);
  ihdr.writeUInt8(8, 16);
  ihdr.writeUInt8(2, 17);
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), ihdr, Buffer.alloc(5000)]);
}

/** An ISO-BMFF file with the given brand and one `ispe` property: enough for the header reader, not for a decoder. */
export function isoImage(brand: string, width: number, height: number): Buffer {
  const box = (type: string, ...parts: Buffer[]): Buffer => {
    const body = Buffer.concat(parts);
    const head = Buffer.alloc(8);
    head.writeUInt32BE(8 + body.length, 0);
    head.write(type, 4, 'latin1');
    return Buffer.concat([head, body]);
  };
  const extent = Buffer.alloc(12);
  extent.writeUInt32BE(width, 4);
  extent.writeUInt32BE(height, 8);
  const ftyp = box('ftyp', Buffer.from(brand, 'latin1'), Buffer.alloc(4), Buffer.from(`mif1${brand}`, 'latin1'));
  const meta = box('meta', Buffer.alloc(4), box('iprp', box('ipco', box('ispe', extent))));
  return Buffer.concat([ftyp, meta, box('mdat', Buffer.from('not really coded data'))]);
}

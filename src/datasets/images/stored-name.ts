/**
 * The name an image is stored under (ARC-R06, ARC-R07): its stem, then the lower-case extension of the
 * type it is stored as, so `a.PNG` becomes `a.png`, a PNG named `b.jpg` becomes `b.png` and `c.gif`
 * becomes `c.png`. kohya finds only all-lower or all-upper extensions, and captions pair by stem.
 */
import path from 'node:path';
import { storedFormatOf } from './image-types.ts';
import type { ImageType } from './image-types.ts';

export function stemOf(name: string): string {
  const extension = path.extname(name);
  return extension === '' || extension === name ? name : name.slice(0, -extension.length);
}

export function storedImageName(params: { name: string; type: ImageType }): string {
  const format = storedFormatOf(params.type);
  const original = path.extname(params.name).toLowerCase();
  const extension = format === 'jpeg' ? (original === '.jpeg' ? '.jpeg' : '.jpg') : `.${format}`;
  return `${stemOf(params.name)}${extension}`;
}

import type { StoredImageFormat } from '../images/image-types.ts';

/** A file that was not imported and why; the import went on without it (ARC-R06). */
export interface SkippedFile {
  /** The path inside the archive or folder, or the upload's name. */
  path: string;
  reason: string;
}

export interface ImportedImage {
  subset: string;
  /** The stored name, e.g. `a.png`. */
  file: string;
  /** Where it came from, e.g. `photos/A.PNG`. */
  source: string;
  format: StoredImageFormat;
  width: number;
  height: number;
  caption: boolean;
  /** Converted to PNG or re-encoded to bake an EXIF orientation. */
  reencoded: boolean;
}

export interface ImportReport {
  dataset: string;
  subsets: Array<{ name: string; repeats: number; classTokens: string; imageCount: number }>;
  images: ImportedImage[];
  skipped: SkippedFile[];
}

export interface ImportProgress {
  phase: 'checking' | 'extracting' | 'images';
  done: number;
  total: number;
}

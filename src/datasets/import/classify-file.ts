/**
 * What an import does with one file, by its path (ARC-R06): OS junk, hidden files, nested archives and
 * anything that is neither an image nor a caption are skipped and reported; images and captions are
 * planned. The content still decides for images: a `.png` holding text is skipped later, after sniffing.
 */
import path from 'node:path';
import { IMAGE_EXTENSIONS } from '../images/image-types.ts';

export const CAPTION_EXTENSIONS: ReadonlySet<string> = new Set(['.txt', '.caption']);

const JUNK_FILES = new Set(['.ds_store', 'thumbs.db', 'desktop.ini', 'ehthumbs.db', '.directory']);
const ARCHIVE_EXTENSIONS = new Set(['.zip', '.7z', '.rar', '.tar', '.gz', '.tgz', '.bz2', '.tbz2', '.xz', '.txz', '.zst', '.lz4', '.lzma', '.cab', '.iso', '.jar', '.apk']);

export type FileClass = { role: 'image' | 'caption' } | { role: 'skip'; reason: string };

export function classifyFile(segments: readonly string[]): FileClass {
  const name = segments[segments.length - 1] ?? '';
  const lower = name.toLowerCase();
  if (segments.some((segment) => segment === '__MACOSX') || lower.startsWith('._') || JUNK_FILES.has(lower)) {
    return { role: 'skip', reason: 'operating-system metadata, not part of the dataset' };
  }
  if (segments.some((segment) => segment.startsWith('.'))) return { role: 'skip', reason: 'a hidden file or folder (kohya skips them)' };
  const extension = path.extname(lower);
  if (ARCHIVE_EXTENSIONS.has(extension)) return { role: 'skip', reason: 'a nested archive; archives inside archives are never extracted' };
  if (IMAGE_EXTENSIONS.has(extension)) return { role: 'image' };
  if (CAPTION_EXTENSIONS.has(extension)) return { role: 'caption' };
  return { role: 'skip', reason: `neither an image nor a caption (${extension === '' ? 'no extension' : `"${extension}"`})` };
}

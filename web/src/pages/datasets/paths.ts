/** Every dataset URL is built here; each segment (dataset, subset, file name) is encoded on its own. */

const enc = encodeURIComponent;

export function datasetPath(name: string, ...segments: string[]): string {
  return ['/api/datasets', enc(name), ...segments.map(enc)].join('/');
}

/** `<subset>/<file>`: how the API names one image of a dataset (lint, filters, caption changes). */
export function imageKey(subset: string, file: string): string {
  return `${subset}/${file}`;
}

/** Splits an image key at its first `/` (subset names never hold one; file names never do either). */
export function splitImageKey(key: string): { subset: string; file: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { subset: '', file: key } : { subset: key.slice(0, slash), file: key.slice(slash + 1) };
}

export function thumbUrl(dataset: string, subset: string, file: string): string {
  return datasetPath(dataset, 'thumbs', subset, file);
}

export function imageUrl(dataset: string, subset: string, file: string): string {
  return datasetPath(dataset, 'images', subset, file);
}

export function captionPath(dataset: string, subset: string, file: string): string {
  return datasetPath(dataset, 'captions', subset, file);
}

/** Splits caption text into tags the way the studio does: on commas, trimmed, empty ones dropped. */
export function parseTags(text: string): string[] {
  return text
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');
}

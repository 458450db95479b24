import { hammingDistance } from './dhash.ts';
import type { ScannedImage } from './scan-images.ts';
import type { LintFinding } from './types.ts';

type Readable = Extract<ScannedImage, { ok: true }>;

/**
 * Exact copies (same SHA-256) and near-copies (dHash within `maxDistance` bits). Each later image is
 * reported once, against the first image it repeats, so deleting every reported image keeps one of each.
 */
export function checkDuplicates(images: readonly ScannedImage[], maxDistance: number): LintFinding[] {
  const readable = images.filter((image): image is Readable => image.ok);
  const findings: LintFinding[] = [];
  const firstBySha = new Map<string, Readable>();
  const originals: Readable[] = [];
  for (const image of readable) {
    const original = firstBySha.get(image.sha256);
    if (original !== undefined) {
      findings.push({
        code: 'duplicate-image',
        severity: 'warning',
        message: `${image.entry.image} is a byte-for-byte copy of ${original.entry.image}.`,
        hint: 'Delete one copy; a duplicate trains that picture twice as often. To weight it on purpose, use subset repeats instead.',
        image: image.entry.image,
        related: [original.entry.image],
      });
      continue;
    }
    firstBySha.set(image.sha256, image);
    let nearest: { image: Readable; distance: number } | undefined;
    for (const earlier of originals) {
      const distance = hammingDistance(image.dhash, earlier.dhash);
      if (distance <= maxDistance && (nearest === undefined || distance < nearest.distance)) nearest = { image: earlier, distance };
    }
    if (nearest !== undefined) {
      findings.push({
        code: 'near-duplicate-image',
        severity: 'warning',
        message: `${image.entry.image} looks almost the same as ${nearest.image.entry.image} (perceptual hash ${nearest.distance} of 64 bits apart).`,
        hint: 'Compare the two; if one is a resized or re-encoded copy, delete it. Keep both if they really differ (pose, expression).',
        image: image.entry.image,
        related: [nearest.image.entry.image],
      });
    }
    originals.push(image);
  }
  return findings;
}

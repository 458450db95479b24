import { LorasmithError } from '../../core/errors.ts';
import type { BucketingOptions } from '../buckets/types.ts';
import { listDatasetImages, type DatasetScope } from '../captions/dataset-files.ts';
import { checkCaption } from './check-caption.ts';
import { checkDuplicates } from './check-duplicates.ts';
import { createGeometryCheck } from './check-geometry.ts';
import type { MaxTokenLength } from './clip-tokens.ts';
import { scanImages } from './scan-images.ts';
import type { LintFinding, LintSeverity, LintSubsetMeta } from './types.ts';

/**
 * dHash bits two images may differ in and still count as near-duplicates. Resized and re-encoded copies
 * of smooth pictures reach about 8 (flat areas flip bits); unrelated pictures sit near 32.
 */
export const DEFAULT_NEAR_DUPLICATE_DISTANCE = 10;

export interface LintDatasetParams extends DatasetScope {
  /** The bucketing the dataset will train with; `resolution` is the target resolution. */
  bucketing: BucketingOptions;
  /** Expected in every non-regularisation caption. */
  trigger?: string;
  /** kohya `--max_token_length`; unset there means 75. */
  maxTokenLength?: MaxTokenLength;
  nearDuplicateDistance?: number;
  /** Per subset folder name. */
  subsets?: Readonly<Record<string, LintSubsetMeta>>;
}

export interface LintReport {
  images: number;
  /** Errors first, then warnings, then info; in listing order within each. */
  findings: LintFinding[];
}

const RANK: Record<LintSeverity, number> = { error: 0, warning: 1, info: 2 };

/** Everything worth fixing in a dataset before training on it. Reads files; writes nothing. */
export async function lintDataset(params: LintDatasetParams): Promise<LintReport> {
  const distance = params.nearDuplicateDistance ?? DEFAULT_NEAR_DUPLICATE_DISTANCE;
  if (!Number.isSafeInteger(distance) || distance < 0 || distance > 64) {
    throw new LorasmithError({
      code: 'lint-option-invalid',
      message: `The near-duplicate distance ${distance} is not a whole number of bits between 0 and 64.`,
      hint: `Use 0 for identical hashes only, ${DEFAULT_NEAR_DUPLICATE_DISTANCE} (the default) for resized or re-encoded copies; unrelated pictures differ in about 32.`,
    });
  }
  // Built first: a bad bucket range is the user's first problem, before any image is read.
  const geometry = createGeometryCheck(params.bucketing);
  const entries = await listDatasetImages(params);
  const scanned = await scanImages(entries);
  const findings: LintFinding[] = [];
  for (const image of scanned) {
    if (!image.ok) {
      findings.push({
        code: 'image-unreadable',
        severity: 'error',
        message: `${image.entry.image} could not be decoded: ${image.reason}.`,
        hint: 'Re-export the image as PNG or JPEG, or remove it.',
        image: image.entry.image,
      });
      continue;
    }
    findings.push(...geometry(image.entry.image, image));
  }
  findings.push(...checkDuplicates(scanned, distance));
  const captionCheck = {
    maxTokenLength: params.maxTokenLength ?? 75,
    subsets: params.subsets ?? {},
    ...(params.trigger === undefined ? {} : { trigger: params.trigger }),
  };
  for (const entry of entries) findings.push(...(await checkCaption(entry, captionCheck)));
  const order = new Map(entries.map((entry, index) => [entry.image, index]));
  findings.sort((a, b) => RANK[a.severity] - RANK[b.severity] || (order.get(a.image) ?? 0) - (order.get(b.image) ?? 0));
  return { images: entries.length, findings };
}

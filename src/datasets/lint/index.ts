export type { LintCode, LintFinding, LintSeverity, LintSubsetMeta } from './types.ts';
export { lintDataset, DEFAULT_NEAR_DUPLICATE_DISTANCE, type LintDatasetParams, type LintReport } from './lint-dataset.ts';
export { approximateClipTokens, type MaxTokenLength } from './clip-tokens.ts';
export { dHash, hammingDistance, type DHash } from './dhash.ts';

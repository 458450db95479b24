/** Shapes of the studio's dataset API, as the server sends them (some straight from its node-free declarations). */

export type { CaptionRecord, DatasetPlan as PlanResult, PlanParams as PlanRequest } from '../../../../src/datasets/dataset-api-types.ts';

export interface SubsetSummary {
  name: string;
  repeats: number;
  classTokens: string;
  isReg: boolean;
  captionExtension: string;
  imageCount: number;
}

export interface DatasetSummary {
  name: string;
  createdAt: string;
  imageCount: number;
  subsets: SubsetSummary[];
  /** Why edits are refused right now (a run or a task uses the dataset); null when they are allowed. */
  locked: string | null;
}

export type ImageFormat = 'png' | 'jpeg' | 'webp';

export interface DatasetImage {
  subset: string;
  file: string;
  format: ImageFormat | null;
  width: number | null;
  height: number | null;
  caption: boolean;
}

export interface DatasetDetail extends DatasetSummary {
  images: DatasetImage[];
}

export interface CaptionChange {
  /** `<subset>/<file>` */
  image: string;
  caption: string;
  before: string | null;
  after: string;
}

export interface CaptionWrite {
  undoId: string | null;
  changes: CaptionChange[];
}

export type CaptionEdit =
  | { op: 'add-trigger'; trigger: string }
  | { op: 'remove-tags'; tags: string[]; ignoreCase?: boolean }
  | { op: 'replace'; find: string; replacement: string; regex?: boolean; flags?: string; target?: 'text' | 'tags' }
  | { op: 'dedupe'; ignoreCase?: boolean }
  | { op: 'sort'; keepTokens?: number };

export interface CaptionPreview {
  changes: CaptionChange[];
  images: number;
}

export interface UndoEntry {
  id: string;
  label: string;
  createdAt: string;
}

export interface UndoResult {
  id: string;
  label: string;
  restored: number;
  removed: number;
}

export interface TagCount {
  tag: string;
  images: number;
}

export interface TagFrequency {
  tags: TagCount[];
  images: number;
  tagged: number;
}

export type LintSeverity = 'error' | 'warning' | 'info';

export interface LintFinding {
  code: string;
  severity: LintSeverity;
  message: string;
  hint: string;
  /** `<subset>/<file>` */
  image: string;
  related?: string[];
}

export interface LintReport {
  images: number;
  findings: LintFinding[];
}

export interface ImportReport {
  dataset: string;
  subsets: Array<{ name: string; repeats: number; classTokens: string; imageCount: number }>;
  images: Array<{ subset: string; file: string; source?: string; format?: string; width?: number; height?: number; caption?: boolean; reencoded?: boolean }>;
  skipped: Array<{ path: string; reason: string }>;
}

export interface UploadedImage {
  subset: string;
  file: string;
  width: number;
  height: number;
  format: ImageFormat;
}

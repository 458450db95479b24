export type LintSeverity = 'error' | 'warning' | 'info';

export type LintCode =
  | 'image-unreadable'
  | 'duplicate-image'
  | 'near-duplicate-image'
  | 'image-below-resolution'
  | 'extreme-aspect-ratio'
  | 'caption-missing'
  | 'caption-empty'
  | 'caption-unreadable'
  | 'caption-too-long'
  | 'trigger-missing';

export interface LintFinding {
  code: LintCode;
  severity: LintSeverity;
  message: string;
  hint: string;
  /** The image the finding is about, relative to the dataset (`<subset>/<file>`). */
  image: string;
  /** Other images involved, e.g. the earlier copy of a duplicate. */
  related?: string[];
}

/** Subset metadata lint needs; lorasmith keeps it in the dataset's meta, kohya in the dataset TOML. */
export interface LintSubsetMeta {
  isReg?: boolean;
  /** kohya `class_tokens`: the caption of an image without a caption file. */
  classTokens?: string;
}

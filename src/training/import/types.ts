/**
 * Shapes shared by the config importers (tagging-and-config-import.md Part B). An importer turns another tool's
 * saved training config into lorasmith's kohya run-config input; every file path it meets is reported, never
 * trusted: the operator maps each to a library id or a dataset name before the run is parsed.
 */
import type { KohyaRunInput } from '../schema/index.ts';

/** Formats `lorasmith train --from` takes (B0), plus lorasmith's own run config. */
export const IMPORT_FORMATS = ['kohya', 'kohya-gui', 'let', 'ktiseos'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];
export type DetectedFormat = ImportFormat | 'lorasmith';

/** What an operator path names; decides which library or store the operator picks the replacement from. */
export type OperatorPathRole =
  | 'model'
  | 'vae'
  | 'text-encoder'
  | 'network-weights'
  | 'sample-prompts'
  | 'dataset-config'
  | 'train-data-dir'
  | 'reg-data-dir'
  | 'resume';

/**
 * A path from the imported file. `field` is where it sits in `config` (dotted, with `[i]` for array items, e.g.
 * `model.base`, `datasets[0].dataset`), holding the path itself until the operator substitutes an id; `source` is
 * the key it came from. Roles without a config slot (`sample-prompts`) use a field the config does not fill.
 */
export interface OperatorPath {
  field: string;
  path: string;
  role: OperatorPathRole;
  source: string;
}

/** A required input the source did not name at all (a Ktiseos preset has no model or dataset path). */
export interface MissingInput {
  field: string;
  role: OperatorPathRole;
}

/** A source key with no place in lorasmith's run config, and why. */
export interface UnmappedKey {
  key: string;
  value: unknown;
  reason: string;
}

export interface ImportSuccess {
  ok: true;
  format: ImportFormat;
  /**
   * lorasmith's run-config input. Library-id and dataset-name fields hold the operator paths listed in
   * `operatorPaths` (or are empty, see `missing`), so it does not parse until they are substituted.
   */
  config: KohyaRunInput;
  operatorPaths: OperatorPath[];
  missing: MissingInput[];
  unmapped: UnmappedKey[];
  notes: string[];
}

export type ImportErrorCode = 'resume-refused' | 'format-unknown' | 'parse-failed' | 'already-lorasmith' | 'not-a-lora-run';

export interface ImportFailure {
  ok: false;
  format: ImportFormat | null;
  error: { code: ImportErrorCode; message: string };
  operatorPaths: OperatorPath[];
  unmapped: UnmappedKey[];
  notes: string[];
}

export type ImportResult = ImportSuccess | ImportFailure;

import type { ModelFamily, ModelKind } from '../../formats/fingerprint/types.ts';
import type { RunConfig } from '../schema/index.ts';

/** error: the run would fail or train something else than asked; warning: it runs, probably not as meant; info: worth knowing. */
export type Severity = 'error' | 'warning' | 'info';

export interface ValidationIssue {
  /** Stable, kebab-case: tests, the form and `--json` users match on it. */
  code: string;
  severity: Severity;
  /** The field the issue is about, as `formatIssuePath` writes it (`memory.cacheTextEncoderOutputs`). */
  path: string;
  message: string;
  hint: string;
}

export interface ResolvedModel {
  kind: ModelKind;
  family: ModelFamily;
}

export interface ResolvedDataset {
  imageCount: number;
}

/**
 * What validation needs from the workspace, injected so the rules are testable without one. Either method may
 * answer synchronously (a preloaded map) or asynchronously (the library's database).
 */
export interface RunResolver {
  model(id: string): ResolvedModel | null | Promise<ResolvedModel | null>;
  dataset(name: string): ResolvedDataset | null | Promise<ResolvedDataset | null>;
}

export interface ValidationReport {
  /** The parsed config with defaults filled, or null when it did not parse. */
  config: RunConfig | null;
  issues: ValidationIssue[];
  /** No issue of severity `error`. */
  ok: boolean;
}

export function issue(code: string, severity: Severity, path: string, message: string, hint: string): ValidationIssue {
  return { code, severity, path, message, hint };
}

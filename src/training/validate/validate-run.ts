import { type RunConfig, formatIssuePath, runConfigSchema } from '../schema/index.ts';
import { checkFluxflow } from './check-fluxflow.ts';
import { checkKohyaFamily } from './check-kohya-family.ts';
import { checkKohyaTraining } from './check-kohya-training.ts';
import { checkLibrary } from './check-library.ts';
import type { RunResolver, ValidationIssue, ValidationReport } from './types.ts';

export interface ValidateRunParams {
  /** The config as received: parsed here, so shape errors and rule findings come back in one list. */
  config: unknown;
  /** The workspace; without it the library and dataset checks are skipped. */
  resolve?: RunResolver;
}

/** The rules that need nothing but the config. */
export function checkRunRules(config: RunConfig): ValidationIssue[] {
  return config.kind === 'fluxflow' ? checkFluxflow(config) : [...checkKohyaFamily(config), ...checkKohyaTraining(config)];
}

/**
 * Everything lorasmith can say about a run before it starts: shape errors from the schema (each an `error` with
 * code `schema`), then the cross-field rules and, given a resolver, the library and dataset checks.
 */
export async function validateRun(params: ValidateRunParams): Promise<ValidationReport> {
  const parsed = runConfigSchema.safeParse(params.config);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (zodIssue): ValidationIssue => ({
        code: 'schema',
        severity: 'error',
        path: formatIssuePath(zodIssue.path),
        message: zodIssue.message,
        hint: 'See the run-config reference for the allowed values of this field.',
      }),
    );
    return { config: null, issues, ok: false };
  }
  const config = parsed.data;
  const issues = [...checkRunRules(config), ...(params.resolve === undefined ? [] : await checkLibrary(config, params.resolve))];
  return { config, issues, ok: issues.every((found) => found.severity !== 'error') };
}

import type { z } from 'zod';
import { LorasmithError } from '../../core/errors.ts';
import { formatIssuePath } from './format-issue-path.ts';
import { type KohyaRunConfig, kohyaRunSchema } from './kohya-run.ts';
import { type RunConfig, runConfigSchema } from './run-config.ts';

/** How many shape errors the message spells out; all of them are in `details.issues`. */
const MESSAGE_ISSUES = 5;

function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({ path: formatIssuePath(issue.path), message: issue.message }));
  const listed = issues
    .slice(0, MESSAGE_ISSUES)
    .map((issue) => `${issue.path || '(top level)'}: ${issue.message}`)
    .join('; ');
  const more = issues.length > MESSAGE_ISSUES ? ` (and ${issues.length - MESSAGE_ISSUES} more)` : '';
  throw new LorasmithError({
    code: 'run-config-invalid',
    message: `The run config is not valid: ${listed}${more}.`,
    hint: 'Fix the fields named above; the run-config reference page lists every field with its allowed values.',
    exitCode: 1,
    status: 400,
    details: { issues },
  });
}

/**
 * Parse a run config from the CLI, the API or a file. Fills defaults; rejects unknown keys (including
 * `__proto__` and `constructor`, WEB-R13) and out-of-range values. Cross-field rules are `validateRun`'s.
 */
export function parseRunConfig(input: unknown): RunConfig {
  return parseOrThrow(runConfigSchema, input);
}

/** The same, for callers that only handle kohya runs (presets, config import). */
export function parseKohyaRunConfig(input: unknown): KohyaRunConfig {
  return parseOrThrow(kohyaRunSchema, input);
}

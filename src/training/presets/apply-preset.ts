import { RUN_SCHEMA_ID, parseKohyaRunConfig, type KohyaRunConfig, type KohyaRunInput } from '../schema/index.ts';
import type { KohyaPresetConfig, RunPreset } from './run-presets.ts';

export interface ApplyPresetParams {
  preset: RunPreset;
  model: KohyaRunInput['model'];
  datasets: KohyaRunInput['datasets'];
  name?: string;
  /** The user's changes on top of the preset. */
  overrides?: KohyaPresetConfig;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keys that pick a variant of a union (optimizer `type`, duration `unit`): a new variant replaces the old whole. */
const VARIANT_KEYS = ['type', 'unit'] as const;

function merge(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  if (VARIANT_KEYS.some((key) => key in override && key in base && override[key] !== base[key])) return override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) merged[key] = merge(base[key], value);
  return merged;
}

/**
 * A full kohya run from a preset, the user's models and datasets, and their changes: parsed, so defaults are
 * filled and a bad override fails here with the field named. Cross-field rules are still `validateRun`'s.
 */
export function applyPreset(params: ApplyPresetParams): KohyaRunConfig {
  return parseKohyaRunConfig({
    ...(merge(params.preset.config, params.overrides) as KohyaPresetConfig),
    schema: RUN_SCHEMA_ID,
    kind: 'kohya',
    family: params.preset.family,
    ...(params.name === undefined ? {} : { name: params.name }),
    model: params.model,
    datasets: params.datasets,
  });
}

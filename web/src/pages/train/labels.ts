import type { ModelKind } from '../../types.ts';

/** Run families for people (src/training/schema/families.ts), for the preset groups and the family select. */
export const FAMILY_LABELS: Record<string, string> = {
  sd1: 'Stable Diffusion 1.x',
  sd2: 'Stable Diffusion 2.x',
  sdxl: 'SDXL',
  sd3: 'Stable Diffusion 3 / 3.5',
  flux1: 'FLUX.1',
  chroma: 'Chroma',
  lumina2: 'Lumina Image 2.0',
  'hunyuan-image-2.1': 'HunyuanImage 2.1',
  anima: 'Anima',
  fluxflow: 'FluxFlow',
};

export function familyName(family: string): string {
  return FAMILY_LABELS[family] ?? family;
}

/** Option labels for a few enums whose raw values read poorly. */
export const OPTION_LABELS: Record<string, Record<string, string>> = {
  kind: { kohya: 'kohya sd-scripts (LoRA)', fluxflow: 'FluxFlow (train from scratch)' },
  family: FAMILY_LABELS,
};

/** Library-id fields: which model kinds fit, and what to call them. `kinds: null` takes any kind. */
export interface LibraryFieldSpec {
  kinds: ModelKind[] | null;
  what: string;
  /** Prefer models of the run's family (others are still offered, after them). */
  byFamily: boolean;
}

export const LIBRARY_FIELDS: Record<string, LibraryFieldSpec> = {
  base: { kinds: ['checkpoint'], what: 'checkpoint', byFamily: true },
  vae: { kinds: ['vae'], what: 'VAE', byFamily: true },
  clipL: { kinds: ['text-encoder'], what: 'text encoder', byFamily: false },
  clipG: { kinds: ['text-encoder'], what: 'text encoder', byFamily: false },
  t5xxl: { kinds: ['text-encoder'], what: 'text encoder', byFamily: false },
  gemma2: { kinds: ['text-encoder'], what: 'text encoder', byFamily: false },
  initialWeights: { kinds: ['lora'], what: 'LoRA', byFamily: true },
  fineTuneFrom: { kinds: null, what: 'FluxFlow checkpoint', byFamily: true },
};

/** Top-level sections that start open; the rest start folded (an issue inside unfolds them). */
export const OPEN_SECTIONS = new Set(['model', 'datasets', 'resolution', 'duration', 'network', 'optimizer', 'learningRate', 'data', 'pipeline', 'training']);

/** Where a FluxFlow dead field is shown: the form section its YAML key belongs to ('' for the run as a whole). */
export function deadFieldSection(field: string): string {
  if (field.startsWith('training.pipeline.')) return 'pipeline';
  if (field.startsWith('data.')) return 'data';
  if (field.startsWith('training.') || field.startsWith('optimization.')) return 'training';
  if (field.startsWith('output.')) return 'output';
  return '';
}

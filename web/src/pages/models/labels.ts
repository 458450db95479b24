import type { ModelKind, ModelRecord, ModelSourceType } from '../../types.ts';

export const KIND_LABELS: Record<ModelKind, string> = {
  checkpoint: 'Checkpoint',
  lora: 'LoRA',
  vae: 'VAE',
  'text-encoder': 'Text encoder',
  embedding: 'Embedding',
  tagger: 'Tagger',
  other: 'Other',
};

const FAMILY_LABELS: Record<string, string> = {
  sd1: 'SD 1.x',
  sd2: 'SD 2.x',
  sdxl: 'SDXL',
  sd3: 'SD 3',
  flux1: 'FLUX.1',
  chroma: 'Chroma',
  lumina2: 'Lumina 2',
  'hunyuan-image-2.1': 'HunyuanImage 2.1',
  anima: 'Anima',
  fluxflow: 'FluxFlow',
  unknown: 'unknown',
};

export const SOURCE_LABELS: Record<ModelSourceType, string> = {
  local: 'local file',
  upload: 'uploaded in the studio',
  hf: 'Hugging Face',
  civitai: 'Civitai',
  url: 'URL',
  run: 'a training run',
};

/** A family id the studio may add later is shown as it came. */
export function familyLabel(family: string): string {
  return FAMILY_LABELS[family] ?? family;
}

export function kindLabel(kind: string): string {
  return (KIND_LABELS as Record<string, string>)[kind] ?? kind;
}

export function predictionLabel(model: ModelRecord): string {
  switch (model.predictionType) {
    case 'epsilon':
      return 'epsilon (ε)';
    case 'v':
      return 'v-prediction';
    default:
      return model.family === 'sd2' ? 'unknown — confirm before training' : 'unknown';
  }
}

/** A file name's extension for the "converted from" badge: `.ckpt`, or the converter's format name. */
export function convertedFromLabel(converted: NonNullable<ModelRecord['source']['converted']>): string {
  const match = /\.[A-Za-z0-9]{1,12}$/.exec(converted.originalName);
  return match ? match[0].toLowerCase() : converted.from;
}

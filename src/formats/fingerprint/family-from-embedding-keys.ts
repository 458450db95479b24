import type { KeyFamily } from './family-from-model-keys.ts';
import type { KeySignals } from './key-signals.ts';

/**
 * A textual-inversion file holds vectors for the text encoder(s): SDXL's carry one set per encoder
 * (`clip_l`, `clip_g`); otherwise the vector width is the single encoder's hidden size, 768 for SD1 and
 * 1024 for SD2 (kohya-sd-scripts.md §7.3).
 */
export function familyFromEmbeddingKeys(signals: KeySignals): KeyFamily {
  const sdxl = signals.found.get('ti.sdxl');
  if (sdxl !== undefined) return { family: 'sdxl', variant: null, evidence: [`key "${sdxl}": per-encoder vectors → sdxl`] };
  const width = signals.embeddingWidth;
  if (width?.value === 768 || width?.value === 1024) {
    const family = width.value === 768 ? 'sd1' : 'sd2';
    return { family, variant: null, evidence: [`key "${width.key}" vector width ${width.value} → ${family}`] };
  }
  return {
    family: 'unknown',
    variant: null,
    evidence: [
      width === null ? 'embedding vectors of unreadable width' : `embedding vector width ${width.value} matches no family`,
    ],
  };
}

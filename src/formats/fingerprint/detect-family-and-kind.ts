import { describeLora } from './describe-lora.ts';
import { familyFromEmbeddingKeys } from './family-from-embedding-keys.ts';
import { familyFromLoraKeys } from './family-from-lora-keys.ts';
import { familyFromMetadata, predictionTypeFromMetadata } from './family-from-metadata.ts';
import { familyFromModelKeys, type KeyFamily } from './family-from-model-keys.ts';
import { collectKeySignals } from './key-signals.ts';
import { kindFromKeys } from './kind-from-keys.ts';
import { collectLoraModules } from './lora-modules.ts';
import type { Fingerprint, ModelDescription, ModelFamily } from './types.ts';

/** Chroma is a FLUX.1 derivative whose LoRAs share FLUX's names (§7.3 rule 2): not a disagreement. */
function compatible(declared: ModelFamily, fromKeys: ModelFamily): boolean {
  return declared === fromKeys || fromKeys === 'unknown' || (declared === 'chroma' && fromKeys === 'flux1');
}

/**
 * Fingerprint a model from its tensor names, shapes and metadata alone (no tensor bytes): kind, family,
 * variant, declared prediction type, LoRA form, and the evidence for each. Two passes over the tensors and
 * one over the modules found: linear in the number of tensors. Never throws on odd input: what it cannot
 * place is `other` / `unknown`, with the reason in `evidence`.
 */
export function detectFamilyAndKind(params: ModelDescription): Fingerprint {
  const { tensors, metadata } = params;
  const modules = collectLoraModules(tensors);
  const signals = collectKeySignals(tensors);
  const { kind, evidence } = kindFromKeys({ signals, modules, metadata });

  const fromKeys: KeyFamily =
    kind === 'lora'
      ? familyFromLoraKeys(modules)
      : kind === 'embedding'
        ? familyFromEmbeddingKeys(signals)
        : familyFromModelKeys(signals);
  const declared = familyFromMetadata(metadata);
  evidence.push(...declared.evidence, ...fromKeys.evidence);

  // §7.3: prefer the metadata when present; the key rules decide otherwise.
  const family = declared.family === 'unknown' ? fromKeys.family : declared.family;
  if (declared.family !== 'unknown' && !compatible(declared.family, fromKeys.family)) {
    evidence.push(`conflict: metadata says ${declared.family}, keys say ${fromKeys.family}; using the metadata`);
  }
  const variant = declared.variant ?? (fromKeys.family === family ? fromKeys.variant : null);

  const prediction = predictionTypeFromMetadata(metadata);
  evidence.push(...prediction.evidence);
  if (prediction.predictionType === 'unknown' && (family === 'sd1' || family === 'sd2')) {
    evidence.push('prediction type not declared: weights cannot tell epsilon from v; the user confirms');
  }

  let lora: Fingerprint['lora'] = null;
  if (kind === 'lora') {
    const described = describeLora({ modules, metadata, scalars: params.scalars ?? {} });
    lora = described.lora;
    evidence.push(...described.evidence);
  }
  return { kind, family, variant, predictionType: prediction.predictionType, lora, evidence };
}

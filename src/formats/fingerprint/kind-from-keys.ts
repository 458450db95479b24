import type { KeySignals, SignalId } from './key-signals.ts';
import type { LoraModule } from './lora-modules.ts';
import type { ModelKind } from './types.ts';

/** Any of these means the file holds a denoiser, so it is a checkpoint whatever else it bundles. */
const DENOISER: readonly SignalId[] = [
  'denoiser',
  'sd3.joint_blocks',
  'flux.double_blocks',
  'flux.single_blocks',
  'flux.diffusers_single',
  'hunyuan.double_blocks',
  'lumina.layers',
  'lumina.refiner',
  'anima.blocks',
  'fluxflow.diffuser',
];
const TEXT_ENCODER: readonly SignalId[] = [
  'te.clip',
  'te.t5',
  'sd1.clip',
  'sd2.open_clip',
  'sdxl.embedders',
  'sd3.text_encoders',
  'fluxflow.text_encoder',
];
const VAE: readonly SignalId[] = ['vae.ldm', 'vae.diffusers'];
const EMBEDDING: readonly SignalId[] = ['ti.emb_params', 'ti.string_to_param', 'ti.sdxl'];

export interface KindFromKeysParams {
  signals: KeySignals;
  modules: ReadonlyMap<string, LoraModule>;
  metadata: Readonly<Record<string, string>>;
}

/**
 * The DESIGN.md §3 kind, from the most specific evidence to the least: adapter tensors, then declared
 * adapter/embedding metadata, embedding tensors, a denoiser, a lone VAE, a lone text encoder.
 */
export function kindFromKeys(params: KindFromKeysParams): { kind: ModelKind; evidence: string[] } {
  const { signals, modules, metadata } = params;
  const firstOf = (ids: readonly SignalId[]): string | undefined => {
    for (const id of ids) {
      const key = signals.found.get(id);
      if (key !== undefined) return key;
    }
    return undefined;
  };
  const architecture = metadata['modelspec.architecture'] ?? '';

  const loraModule = modules.keys().next().value;
  if (loraModule !== undefined) {
    const count = `${modules.size} module${modules.size === 1 ? '' : 's'}`;
    return { kind: 'lora', evidence: [`${count} with LoRA-family suffixes, e.g. "${loraModule}"`] };
  }
  const networkModule = metadata['ss_network_module'];
  if (networkModule !== undefined || architecture.endsWith('/lora')) {
    const declared =
      networkModule === undefined ? `modelspec.architecture="${architecture}"` : `ss_network_module="${networkModule}"`;
    return { kind: 'lora', evidence: [`no known LoRA suffix, but metadata declares an adapter (${declared})`] };
  }
  const embedding = firstOf(EMBEDDING);
  if (embedding !== undefined || architecture.endsWith('/textual-inversion')) {
    return {
      kind: 'embedding',
      evidence: [
        embedding === undefined ? `modelspec.architecture="${architecture}" → embedding` : `key "${embedding}" → embedding`,
      ],
    };
  }
  const denoiser = firstOf(DENOISER);
  if (denoiser !== undefined) return { kind: 'checkpoint', evidence: [`key "${denoiser}": a denoiser → checkpoint`] };
  const textEncoder = firstOf(TEXT_ENCODER);
  const vae = firstOf(VAE);
  if (vae !== undefined && textEncoder === undefined) {
    return { kind: 'vae', evidence: [`key "${vae}": autoencoder only → vae`] };
  }
  if (textEncoder !== undefined && vae === undefined) {
    return { kind: 'text-encoder', evidence: [`key "${textEncoder}": text encoder only → text-encoder`] };
  }
  const parts = [vae, textEncoder].filter((key) => key !== undefined);
  return {
    kind: 'other',
    evidence: [
      parts.length > 0
        ? `keys ${parts.map((key) => `"${key}"`).join(' and ')}: components without a denoiser → other`
        : `none of ${signals.tensorCount} tensor names matches a known layout → other`,
    ],
  };
}

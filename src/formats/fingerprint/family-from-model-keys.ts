import type { KeySignals, SignalId } from './key-signals.ts';
import type { FamilyVariant, ModelFamily } from './types.ts';

export interface KeyFamily {
  family: ModelFamily;
  variant: FamilyVariant | null;
  evidence: string[];
}

/** SD U-Net cross-attention widths (kohya-sd-scripts.md §7.4). */
const CROSS_ATTN_FAMILY: ReadonlyMap<number, ModelFamily> = new Map([
  [768, 'sd1'],
  [1024, 'sd2'],
  [2048, 'sdxl'],
]);

/**
 * Family of a full model (checkpoint, or a component cut from one) by the §7.4 rules, most specific first:
 * the DiT families before SD, because their files may also carry SD-looking prefixes.
 */
export function familyFromModelKeys(signals: KeySignals): KeyFamily {
  const evidence: string[] = [];
  const first = (...ids: SignalId[]): string | undefined => {
    for (const id of ids) {
      const key = signals.found.get(id);
      if (key !== undefined) return key;
    }
    return undefined;
  };
  /** `key` is the marker that decided; absent when the cross-attention width (already in the evidence) did. */
  const decide = (family: ModelFamily, key: string | undefined, variant: FamilyVariant | null = null): KeyFamily => {
    if (key !== undefined) evidence.unshift(`key "${key}" → ${family}`);
    return { family, variant, evidence };
  };

  const fluxflow = first('fluxflow.diffuser', 'fluxflow.text_encoder', 'fluxflow.discriminator');
  if (fluxflow !== undefined) return decide('fluxflow', fluxflow);

  const sd3 = first('sd3.joint_blocks');
  if (sd3 !== undefined) {
    const qkNorm = signals.found.has('sd3.qk_norm');
    const attn2 = signals.found.has('sd3.attn2_ln_k');
    evidence.push(
      qkNorm
        ? `joint_blocks.0.context_block.attn.ln_k present (qk_norm): ` +
            `SD3.5 ${attn2 ? 'medium (x_block.attn2.ln_k present)' : 'large'}`
        : 'no qk_norm keys: SD3 medium',
    );
    return decide('sd3', sd3, qkNorm ? (attn2 ? 'sd3.5-medium' : 'sd3.5-large') : 'sd3-medium');
  }

  const hunyuan = first('hunyuan.double_blocks', 'hunyuan.byt5');
  if (hunyuan !== undefined) return decide('hunyuan-image-2.1', hunyuan);

  const fluxBfl = first('flux.double_blocks', 'flux.single_blocks');
  const fluxDiffusers =
    signals.found.has('flux.diffusers_double') && signals.found.has('flux.diffusers_single')
      ? signals.found.get('flux.diffusers_single')
      : undefined;
  const flux = fluxBfl ?? fluxDiffusers;
  if (flux !== undefined) {
    const chroma = signals.found.get('chroma.distilled_guidance');
    if (chroma !== undefined) {
      evidence.push(`key "${chroma}": Chroma's distilled guidance layer`);
      return decide('chroma', flux);
    }
    const guidance = signals.found.get('flux.guidance');
    evidence.push(guidance === undefined ? 'no guidance embedder: schnell' : `key "${guidance}": dev (guidance embedder)`);
    return decide('flux1', flux, guidance === undefined ? 'flux1-schnell' : 'flux1-dev');
  }

  const lumina = first('lumina.refiner', 'lumina.layers');
  if (lumina !== undefined) return decide('lumina2', lumina);

  const anima = first('anima.llm_adapter', 'anima.blocks');
  if (anima !== undefined) return decide('anima', anima);

  const width = signals.crossAttnInDim;
  const byWidth = width === null ? undefined : CROSS_ATTN_FAMILY.get(width.value);
  if (width !== null) {
    evidence.push(
      byWidth === undefined
        ? `attn2.to_k input width ${width.value} matches no SD family`
        : `key "${width.key}" input width ${width.value} → ${byWidth}`,
    );
  }
  const sdxl = first('sdxl.embedders', 'sdxl.label_emb');
  if (sdxl !== undefined || byWidth === 'sdxl') return decide('sdxl', sdxl);
  const sd2 = first('sd2.open_clip');
  if (sd2 !== undefined || byWidth === 'sd2') return decide('sd2', sd2);
  const sd1 = first('sd1.clip');
  if (sd1 !== undefined || byWidth === 'sd1') return decide('sd1', sd1);

  // SD3 single files may bundle their text encoders (§7.4); a file of only those is SD3's.
  const sd3Encoders = first('sd3.text_encoders');
  if (sd3Encoders !== undefined) return decide('sd3', sd3Encoders);

  evidence.push('no family rule of the references matched these keys');
  return { family: 'unknown', variant: null, evidence };
}

import type { KeyFamily } from './family-from-model-keys.ts';
import type { LoraModule } from './lora-modules.ts';
import type { ModelFamily } from './types.ts';

type LoraSignal =
  | 'double_blocks'
  | 'single_blocks'
  | 'peft_flux'
  | 'dm_double_blocks'
  | 'joint_blocks'
  | 'lora_te'
  | 'lora_te1'
  | 'lora_te2'
  | 'lora_te3'
  | 'lumina'
  | 'anima_blocks'
  | 'sgm_unet'
  | 'text_encoder_2'
  | 'sd_unet';

const PATTERNS: ReadonlyArray<[LoraSignal, RegExp]> = [
  ['double_blocks', /^lora_unet_double_blocks_/],
  ['single_blocks', /^lora_unet_single_blocks_/],
  ['peft_flux', /(?:^|\.)transformer\.single_transformer_blocks\./],
  ['dm_double_blocks', /(?:^|\.)diffusion_model\.double_blocks\./],
  ['joint_blocks', /^lora_unet_joint_blocks_/],
  ['lora_te', /^lora_te_/],
  ['lora_te1', /^lora_te1_/],
  ['lora_te2', /^lora_te2_/],
  ['lora_te3', /^lora_te3_/],
  ['lumina', /^lora_unet_(?:layers_\d+_|.*(?:noise_refiner|context_refiner))/],
  ['anima_blocks', /^lora_unet_blocks_\d+_/],
  ['sgm_unet', /^lora_unet_(?:input_blocks_|middle_block|output_blocks_)/],
  ['text_encoder_2', /^text_encoder_2\./],
  ['sd_unet', /^(?:lora_unet_down_blocks_|lora_unet_mid_block|lora_unet_up_blocks_|unet\.)/],
];

/** Widths that tell SD families apart (kohya-sd-scripts.md §7.3): cross-attention input and the single TE's hidden size. */
const SD_WIDTHS: ReadonlyMap<number, ModelFamily> = new Map([
  [768, 'sd1'],
  [1024, 'sd2'],
  [2048, 'sdxl'],
]);

interface Measure {
  value: number;
  module: string;
}

/** Family of a LoRA-family file by the §7.3 rules, in their order, over module names and down-factor widths. */
export function familyFromLoraKeys(modules: ReadonlyMap<string, LoraModule>): KeyFamily {
  const found = new Map<LoraSignal, string>();
  let hunyuanWidth: Measure | null = null;
  let crossAttnWidth: Measure | null = null;
  let teWidth: Measure | null = null;
  let teMaxLayer: Measure | null = null;

  for (const { name, inDim } of modules.values()) {
    for (const [signal, pattern] of PATTERNS) {
      if (!found.has(signal) && pattern.test(name)) found.set(signal, name);
    }
    if (inDim !== null) {
      if (hunyuanWidth === null && name.startsWith('lora_unet_double_blocks_') && name.endsWith('_img_attn_qkv')) {
        hunyuanWidth = { value: inDim, module: name };
      }
      if (crossAttnWidth === null && (name.endsWith('attn2_to_k') || name.endsWith('attn2.to_k'))) {
        crossAttnWidth = { value: inDim, module: name };
      }
    }
    // Only a single-TE file (SD1/SD2: `lora_te_`, PEFT `text_encoder.`) is judged by its TE.
    if (name.startsWith('lora_te_') || name.startsWith('text_encoder.')) {
      if (inDim !== null && teWidth === null && /self_attn[._]q_proj$/.test(name)) teWidth = { value: inDim, module: name };
      const layer = /encoder[._]layers[._](\d+)[._]/.exec(name)?.[1];
      if (layer !== undefined && (teMaxLayer === null || Number(layer) > teMaxLayer.value)) {
        teMaxLayer = { value: Number(layer), module: name };
      }
    }
  }

  const evidence: string[] = [];
  const decide = (family: ModelFamily, why: string): KeyFamily => {
    evidence.unshift(why);
    return { family, variant: null, evidence };
  };
  const seen = (...signals: LoraSignal[]): string | undefined => {
    for (const signal of signals) {
      const module = found.get(signal);
      if (module !== undefined) return module;
    }
    return undefined;
  };

  const doubleBlocks = found.get('double_blocks');
  if (doubleBlocks !== undefined && hunyuanWidth?.value === 3584) {
    return decide('hunyuan-image-2.1', `module "${hunyuanWidth.module}" input width 3584 → hunyuan-image-2.1 (FLUX: 3072)`);
  }
  const flux = seen('double_blocks', 'single_blocks', 'peft_flux', 'dm_double_blocks');
  if (flux !== undefined) {
    evidence.push('Chroma LoRAs use the same names; only metadata tells them apart');
    return decide('flux1', `module "${flux}" → flux1`);
  }
  const joint = found.get('joint_blocks');
  if (joint !== undefined) return decide('sd3', `module "${joint}" → sd3`);
  const te2 = found.get('lora_te2');
  const te3 = found.get('lora_te3');
  if (te3 !== undefined && te2 !== undefined) return decide('sd3', `modules "${te3}" and "${te2}" (T5 with CLIP-G) → sd3`);
  // FLUX's prefixes are lora_unet, lora_te1 and lora_te3 (§7.1): a T5 module without a CLIP-G one is FLUX's.
  if (te3 !== undefined) return decide('flux1', `module "${te3}" without lora_te2_ (T5 without CLIP-G) → flux1`);
  const lumina = found.get('lumina');
  if (lumina !== undefined) return decide('lumina2', `module "${lumina}" → lumina2`);
  const anima = found.get('anima_blocks');
  if (anima !== undefined) return decide('anima', `module "${anima}" → anima`);

  const byCrossAttn = crossAttnWidth === null ? undefined : SD_WIDTHS.get(crossAttnWidth.value);
  const crossAttnWhy =
    crossAttnWidth === null ? '' : `module "${crossAttnWidth.module}" cross-attention input width ${crossAttnWidth.value}`;
  if (byCrossAttn === 'sdxl') return decide('sdxl', `${crossAttnWhy} → sdxl`);
  const sdxl = seen('lora_te1', 'lora_te2', 'sgm_unet', 'text_encoder_2');
  if (sdxl !== undefined) return decide('sdxl', `module "${sdxl}" → sdxl`);
  if (byCrossAttn === 'sd1' || byCrossAttn === 'sd2') return decide(byCrossAttn, `${crossAttnWhy} → ${byCrossAttn}`);
  if (crossAttnWidth !== null) evidence.push(`${crossAttnWhy} matches no SD family`);
  if (teMaxLayer !== null && teMaxLayer.value > 11) {
    return decide('sd2', `text-encoder layer ${teMaxLayer.value} in "${teMaxLayer.module}" (SD1 has 0..11) → sd2`);
  }
  const byTe = teWidth === null ? undefined : SD_WIDTHS.get(teWidth.value);
  if (teWidth !== null && (byTe === 'sd1' || byTe === 'sd2')) {
    return decide(byTe, `module "${teWidth.module}" text-encoder width ${teWidth.value} → ${byTe}`);
  }
  const sd = seen('lora_te', 'sd_unet');
  evidence.push(
    sd === undefined
      ? 'no LoRA family rule of the references matched these modules'
      : `module "${sd}" is SD1.x or SD2.x naming, but no width tells which`,
  );
  return { family: 'unknown', variant: null, evidence };
}

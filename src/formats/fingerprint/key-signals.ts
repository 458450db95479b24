import type { TensorDescription } from './types.ts';

/**
 * Key patterns of full models. The SD/SDXL/SD3/FLUX/Chroma/HunyuanImage/Lumina/Anima ones are kohya-sd-scripts.md
 * §7.4, the FluxFlow ones fluxflow.md §1.6. The VAE, standalone text-encoder and textual-inversion patterns are
 * not in the references; they follow the layouts sd-scripts and the LDM/diffusers/transformers code load
 * (`first_stage_model.` + `encoder.down.N`/`decoder.up.N`/`quant_conv`; diffusers `encoder.down_blocks`;
 * CLIP `text_model.encoder.layers`; T5 `encoder.block`; TI `emb_params`, `string_to_param.*`, SDXL `clip_l`/`clip_g`).
 */
export type SignalId =
  | 'denoiser'
  | 'sd3.joint_blocks'
  | 'sd3.qk_norm'
  | 'sd3.attn2_ln_k'
  | 'sd3.text_encoders'
  | 'flux.double_blocks'
  | 'flux.single_blocks'
  | 'flux.diffusers_double'
  | 'flux.diffusers_single'
  | 'flux.guidance'
  | 'chroma.distilled_guidance'
  | 'hunyuan.double_blocks'
  | 'hunyuan.byt5'
  | 'lumina.layers'
  | 'lumina.refiner'
  | 'anima.blocks'
  | 'anima.llm_adapter'
  | 'sdxl.label_emb'
  | 'sdxl.embedders'
  | 'sd2.open_clip'
  | 'sd1.clip'
  | 'fluxflow.diffuser'
  | 'fluxflow.text_encoder'
  | 'fluxflow.discriminator'
  | 'vae.ldm'
  | 'vae.diffusers'
  | 'te.clip'
  | 'te.t5'
  | 'ti.emb_params'
  | 'ti.string_to_param'
  | 'ti.sdxl';

interface SignalRule {
  id: SignalId;
  /**
   * A necessary condition of `test`, checked first: `on` (the name or its bare form) starts with one of
   * `prefixes`. It lets one pass skip, by first character and `startsWith`, the rules a name cannot match.
   */
  on: 'name' | 'bare';
  prefixes: readonly string[];
  /** `name` as stored; `bare` without the `model.diffusion_model.` prefix the DiT formats may carry. */
  test(name: string, bare: string, shape: readonly number[]): boolean;
}

const DIFFUSION_PREFIX = 'model.diffusion_model.';

const RULES: readonly SignalRule[] = [
  { id: 'denoiser', on: 'name', prefixes: [DIFFUSION_PREFIX], test: (name) => name.startsWith(DIFFUSION_PREFIX) },
  { id: 'sd3.joint_blocks', on: 'bare', prefixes: ['joint_blocks.'], test: (_, bare) => bare.startsWith('joint_blocks.') },
  { id: 'sd3.qk_norm', on: 'bare', prefixes: ['joint_blocks.'], test: (_, bare) => bare === 'joint_blocks.0.context_block.attn.ln_k.weight' },
  { id: 'sd3.attn2_ln_k', on: 'bare', prefixes: ['joint_blocks.'], test: (_, bare) => /^joint_blocks\.\d+\.x_block\.attn2\.ln_k\./.test(bare) },
  { id: 'sd3.text_encoders', on: 'name', prefixes: ['text_encoders.'], test: (name) => /^text_encoders\.(?:clip_l|clip_g|t5xxl)\./.test(name) },
  { id: 'flux.double_blocks', on: 'bare', prefixes: ['double_blocks.'], test: (_, bare) => /^double_blocks\.\d+\.img_attn\.qkv\./.test(bare) },
  { id: 'flux.single_blocks', on: 'bare', prefixes: ['single_blocks.'], test: (_, bare) => /^single_blocks\.\d+\.linear1\./.test(bare) },
  { id: 'flux.diffusers_double', on: 'bare', prefixes: ['transformer_blocks.'], test: (_, bare) => bare === 'transformer_blocks.0.attn.add_k_proj.bias' },
  { id: 'flux.diffusers_single', on: 'bare', prefixes: ['single_transformer_blocks.'], test: (_, bare) => bare.startsWith('single_transformer_blocks.') },
  {
    id: 'flux.guidance',
    on: 'bare',
    prefixes: ['guidance_in.', 'time_text_embed.'],
    test: (_, bare) => bare === 'guidance_in.in_layer.bias' || bare === 'time_text_embed.guidance_embedder.linear_1.bias',
  },
  { id: 'chroma.distilled_guidance', on: 'bare', prefixes: ['distilled_guidance_layer.'], test: (_, bare) => bare.startsWith('distilled_guidance_layer.') },
  { id: 'hunyuan.double_blocks', on: 'bare', prefixes: ['double_blocks.'], test: (_, bare) => /^double_blocks\.\d+\.img_attn_qkv\./.test(bare) },
  { id: 'hunyuan.byt5', on: 'bare', prefixes: ['byt5_in.'], test: (_, bare) => bare.startsWith('byt5_in.') },
  { id: 'lumina.layers', on: 'bare', prefixes: ['layers.'], test: (_, bare) => /^layers\.\d+\./.test(bare) },
  { id: 'lumina.refiner', on: 'bare', prefixes: ['noise_refiner.', 'context_refiner.', 'cap_embedder.'], test: (_, bare) => /^(?:noise_refiner|context_refiner|cap_embedder)\./.test(bare) },
  { id: 'anima.blocks', on: 'name', prefixes: ['net.blocks.'], test: (name) => /^net\.blocks\.\d+\./.test(name) },
  { id: 'anima.llm_adapter', on: 'name', prefixes: ['llm_adapter.', 'net.llm_adapter.'], test: (name) => /^(?:net\.)?llm_adapter\./.test(name) },
  { id: 'sdxl.label_emb', on: 'name', prefixes: [`${DIFFUSION_PREFIX}label_emb.`], test: (name) => name.startsWith(`${DIFFUSION_PREFIX}label_emb.`) },
  { id: 'sdxl.embedders', on: 'name', prefixes: ['conditioner.embedders.'], test: (name) => name.startsWith('conditioner.embedders.') },
  { id: 'sd2.open_clip', on: 'name', prefixes: ['cond_stage_model.model.transformer.resblocks.'], test: (name) => name.startsWith('cond_stage_model.model.transformer.resblocks.') },
  {
    id: 'sd1.clip',
    on: 'name',
    prefixes: ['cond_stage_model.transformer.'],
    test: (name) =>
      name.startsWith('cond_stage_model.transformer.text_model.encoder.layers.') ||
      name.startsWith('cond_stage_model.transformer.encoder.'),
  },
  { id: 'fluxflow.diffuser', on: 'name', prefixes: ['diffuser.'], test: (name) => /^diffuser\.(?:compressor|flow_processor|expander)\./.test(name) },
  { id: 'fluxflow.text_encoder', on: 'name', prefixes: ['text_encoder.'], test: (name) => name.startsWith('text_encoder.') && name.includes('language_model.') },
  { id: 'fluxflow.discriminator', on: 'name', prefixes: ['D_img.'], test: (name) => name.startsWith('D_img.') },
  {
    id: 'vae.ldm',
    on: 'name',
    prefixes: ['first_stage_model.', 'encoder.down.', 'decoder.up.', 'quant_conv.', 'post_quant_conv.'],
    test: (name) =>
      /^(?:first_stage_model\.)?(?:encoder\.down\.\d+\.|decoder\.up\.\d+\.|quant_conv\.|post_quant_conv\.)/.test(name),
  },
  { id: 'vae.diffusers', on: 'name', prefixes: ['encoder.down_blocks.', 'decoder.up_blocks.'], test: (name) => name.startsWith('encoder.down_blocks.') || name.startsWith('decoder.up_blocks.') },
  { id: 'te.clip', on: 'name', prefixes: ['text_model.encoder.layers.'], test: (name) => /^text_model\.encoder\.layers\.\d+\./.test(name) },
  { id: 'te.t5', on: 'name', prefixes: ['encoder.block.'], test: (name) => /^encoder\.block\.\d+\.layer\./.test(name) },
  { id: 'ti.emb_params', on: 'name', prefixes: ['emb_params'], test: (name, _, shape) => name === 'emb_params' && shape.length === 2 },
  { id: 'ti.string_to_param', on: 'name', prefixes: ['string_to_param.'], test: (name) => name.startsWith('string_to_param.') },
  { id: 'ti.sdxl', on: 'name', prefixes: ['clip_l', 'clip_g'], test: (name, _, shape) => (name === 'clip_l' || name === 'clip_g') && shape.length === 2 },
];

export interface KeySignals {
  /** Each signal seen, with the first key that raised it (for the evidence). */
  found: Map<SignalId, string>;
  /** Input width of the U-Net cross-attention `attn2.to_k`: 768 SD1, 1024 SD2, 2048 SDXL (§7.4). */
  crossAttnInDim: { value: number; key: string } | null;
  /** Width of the textual-inversion vectors (`emb_params`, `string_to_param.*`): the text encoder's hidden size. */
  embeddingWidth: { value: number; key: string } | null;
  tensorCount: number;
}

interface IndexedRule {
  rule: SignalRule;
  prefix: string;
}

/** Rules by the first UTF-16 unit of each prefix, one index for names and one for bare names. */
function indexRules(on: SignalRule['on']): ReadonlyMap<number, readonly IndexedRule[]> {
  const index = new Map<number, IndexedRule[]>();
  for (const rule of RULES) {
    if (rule.on !== on) continue;
    for (const prefix of rule.prefixes) {
      const first = prefix.charCodeAt(0);
      let list = index.get(first);
      if (list === undefined) index.set(first, (list = []));
      list.push({ rule, prefix });
    }
  }
  return index;
}

const BY_NAME = indexRules('name');
const BY_BARE = indexRules('bare');

function applyRules(candidates: readonly IndexedRule[] | undefined, target: string, name: string, bare: string, shape: readonly number[], found: Map<SignalId, string>): void {
  if (candidates === undefined) return;
  for (const { rule, prefix } of candidates) {
    if (target.startsWith(prefix) && !found.has(rule.id) && rule.test(name, bare, shape)) found.set(rule.id, name);
  }
}

/**
 * One pass over the tensors, a fixed set of tests per name: linear in the number of tensors. Only the
 * rules whose prefix can match (same first character, then `startsWith`) run their test.
 */
export function collectKeySignals(tensors: readonly TensorDescription[]): KeySignals {
  const signals: KeySignals = { found: new Map(), crossAttnInDim: null, embeddingWidth: null, tensorCount: tensors.length };
  for (const { name, shape } of tensors) {
    const bare = name.startsWith(DIFFUSION_PREFIX) ? name.slice(DIFFUSION_PREFIX.length) : name;
    applyRules(BY_NAME.get(name.charCodeAt(0)), name, name, bare, shape, signals.found);
    applyRules(BY_BARE.get(bare.charCodeAt(0)), bare, name, bare, shape, signals.found);
    if (signals.crossAttnInDim === null && name.startsWith(DIFFUSION_PREFIX) && name.endsWith('.attn2.to_k.weight')) {
      const width = shape[1];
      if (width !== undefined) signals.crossAttnInDim = { value: width, key: name };
    }
    if (signals.embeddingWidth === null && (name === 'emb_params' || name.startsWith('string_to_param.'))) {
      const width = shape[1];
      if (shape.length === 2 && width !== undefined) signals.embeddingWidth = { value: width, key: name };
    }
  }
  return signals;
}

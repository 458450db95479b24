/**
 * KOHYA ENGINE DOUBLE — the tensors of the files it saves: kohya-format LoRA keys per model family
 * (kohya-sd-scripts.md §7.1: `<prefix>_<module path with _>.{lora_down.weight|lora_up.weight|alpha}`,
 * down `[r, in]` or `[r, in, 1, 1]`, up `[out, r]` or `[out, r, 1, 1]`, alpha a 0-dim tensor in the save
 * dtype), a representative handful of modules per family with the real in/out widths so the reference's
 * detection rules (§7.3) hold, and a tiny stand-in for full fine-tune checkpoints. Values are
 * deterministic pseudo-random numbers, not trained weights.
 */
import type { SafetensorsDtype } from '../../../src/formats/safetensors/index.ts';
import type { KohyaTrainerScript } from '../../../src/training/engines/kohya/kohya-args.ts';

export type DoubleFamily = 'sd1' | 'sd2' | 'sdxl' | 'sd3' | 'flux' | 'lumina';

export interface LoraModule {
  /** Full kohya module name, prefix included (`lora_unet_…`, `lora_te1_…`). */
  name: string;
  in: number;
  out: number;
  /** 1×1 conv (SD1.x `proj_in`/`proj_out`): 4-D shapes. */
  conv1x1?: boolean;
}

export interface WeightTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array;
}

export function familyOf(script: KohyaTrainerScript, v2: boolean): DoubleFamily {
  switch (script) {
    case 'train_network.py':
    case 'train_db.py':
      return v2 ? 'sd2' : 'sd1';
    case 'sdxl_train_network.py':
    case 'sdxl_train.py':
      return 'sdxl';
    case 'sd3_train_network.py':
      return 'sd3';
    case 'flux_train_network.py':
    case 'flux_train.py':
      return 'flux';
    case 'lumina_train_network.py':
      return 'lumina';
  }
}

/** Trainer scripts that train a network (LoRA), as opposed to full fine-tuning. */
export function isNetworkTrainer(script: KohyaTrainerScript): boolean {
  return script.endsWith('_network.py');
}

function clipTe(prefix: string, width: number, layers: readonly number[]): LoraModule[] {
  const out: LoraModule[] = [];
  for (const layer of layers) {
    const base = `${prefix}_text_model_encoder_layers_${layer}`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) out.push({ name: `${base}_self_attn_${proj}`, in: width, out: width });
    out.push({ name: `${base}_mlp_fc1`, in: width, out: width * 4 }, { name: `${base}_mlp_fc2`, in: width * 4, out: width });
  }
  return out;
}

function sdUnet(ctx: number, linearProj: boolean): LoraModule[] {
  const block = (base: string, dim: number): LoraModule[] => [
    { name: `${base}_proj_in`, in: dim, out: dim, ...(linearProj ? {} : { conv1x1: true }) },
    { name: `${base}_transformer_blocks_0_attn1_to_q`, in: dim, out: dim },
    { name: `${base}_transformer_blocks_0_attn1_to_k`, in: dim, out: dim },
    { name: `${base}_transformer_blocks_0_attn1_to_v`, in: dim, out: dim },
    { name: `${base}_transformer_blocks_0_attn1_to_out_0`, in: dim, out: dim },
    { name: `${base}_transformer_blocks_0_attn2_to_q`, in: dim, out: dim },
    { name: `${base}_transformer_blocks_0_attn2_to_k`, in: ctx, out: dim },
    { name: `${base}_transformer_blocks_0_attn2_to_v`, in: ctx, out: dim },
    { name: `${base}_transformer_blocks_0_attn2_to_out_0`, in: dim, out: dim },
    { name: `${base}_transformer_blocks_0_ff_net_0_proj`, in: dim, out: dim * 8 },
    { name: `${base}_transformer_blocks_0_ff_net_2`, in: dim * 4, out: dim },
    { name: `${base}_proj_out`, in: dim, out: dim, ...(linearProj ? {} : { conv1x1: true }) },
  ];
  return [...block('lora_unet_down_blocks_0_attentions_0', 320), ...block('lora_unet_mid_block_attentions_0', 1280), ...block('lora_unet_up_blocks_3_attentions_2', 320)];
}

function sdxlUnet(): LoraModule[] {
  const block = (base: string, dim: number): LoraModule[] => [
    { name: `${base}_proj_in`, in: dim, out: dim },
    { name: `${base}_transformer_blocks_0_attn1_to_q`, in: dim, out: dim },
    { name: `${base}_transformer_blocks_0_attn1_to_k`, in: dim, out: dim },
    { name: `${base}_transformer_blocks_0_attn1_to_v`, in: dim, out: dim },
    { name: `${base}_transformer_blocks_0_attn1_to_out_0`, in: dim, out: dim },
    { name: `${base}_transformer_blocks_0_attn2_to_q`, in: dim, out: dim },
    { name: `${base}_transformer_blocks_0_attn2_to_k`, in: 2048, out: dim },
    { name: `${base}_transformer_blocks_0_attn2_to_v`, in: 2048, out: dim },
    { name: `${base}_transformer_blocks_0_ff_net_0_proj`, in: dim, out: dim * 8 },
    { name: `${base}_transformer_blocks_0_ff_net_2`, in: dim * 4, out: dim },
    { name: `${base}_proj_out`, in: dim, out: dim },
  ];
  return [...block('lora_unet_input_blocks_4_1', 640), ...block('lora_unet_middle_block_1', 1280), ...block('lora_unet_output_blocks_2_1', 1280)];
}

function fluxUnet(): LoraModule[] {
  const h = 3072;
  const out: LoraModule[] = [];
  for (const side of ['img', 'txt']) {
    out.push(
      { name: `lora_unet_double_blocks_0_${side}_attn_qkv`, in: h, out: h * 3 },
      { name: `lora_unet_double_blocks_0_${side}_attn_proj`, in: h, out: h },
      { name: `lora_unet_double_blocks_0_${side}_mlp_0`, in: h, out: h * 4 },
      { name: `lora_unet_double_blocks_0_${side}_mlp_2`, in: h * 4, out: h },
      { name: `lora_unet_double_blocks_0_${side}_mod_lin`, in: h, out: h * 6 },
    );
  }
  out.push(
    { name: 'lora_unet_single_blocks_0_linear1', in: h, out: 21504 },
    { name: 'lora_unet_single_blocks_0_linear2', in: 15360, out: h },
    { name: 'lora_unet_single_blocks_0_modulation_lin', in: h, out: h * 3 },
  );
  return out;
}

function sd3Unet(): LoraModule[] {
  const h = 1536;
  const out: LoraModule[] = [];
  for (const side of ['x_block', 'context_block']) {
    out.push(
      { name: `lora_unet_joint_blocks_0_${side}_attn_qkv`, in: h, out: h * 3 },
      { name: `lora_unet_joint_blocks_0_${side}_attn_proj`, in: h, out: h },
      { name: `lora_unet_joint_blocks_0_${side}_mlp_fc1`, in: h, out: h * 4 },
      { name: `lora_unet_joint_blocks_0_${side}_mlp_fc2`, in: h * 4, out: h },
      { name: `lora_unet_joint_blocks_0_${side}_adaLN_modulation_1`, in: h, out: h * 6 },
    );
  }
  return out;
}

function luminaUnet(): LoraModule[] {
  const h = 2304;
  const out: LoraModule[] = [];
  for (const base of ['lora_unet_layers_0', 'lora_unet_noise_refiner_0', 'lora_unet_context_refiner_0']) {
    out.push(
      { name: `${base}_attention_qkv`, in: h, out: 3840 },
      { name: `${base}_attention_out`, in: h, out: h },
      { name: `${base}_feed_forward_w1`, in: h, out: 6144 },
      { name: `${base}_feed_forward_w2`, in: 6144, out: h },
    );
  }
  return out;
}

/** The modules a LoRA of `family` holds (text encoders only when they are trained). */
export function loraModules(family: DoubleFamily, options: { trainTextEncoder: boolean }): LoraModule[] {
  const te = options.trainTextEncoder;
  switch (family) {
    case 'sd1':
      return [...sdUnet(768, false), ...(te ? clipTe('lora_te', 768, [0, 11]) : [])];
    case 'sd2':
      return [...sdUnet(1024, true), ...(te ? clipTe('lora_te', 1024, [0, 22]) : [])];
    case 'sdxl':
      return [...sdxlUnet(), ...(te ? [...clipTe('lora_te1', 768, [0]), ...clipTe('lora_te2', 1280, [0])] : [])];
    case 'sd3':
      return [...sd3Unet(), ...(te ? [...clipTe('lora_te1', 768, [0]), ...clipTe('lora_te2', 1280, [0])] : [])];
    case 'flux':
      return [...fluxUnet(), ...(te ? clipTe('lora_te1', 768, [0]) : [])];
    case 'lumina':
      return [
        ...luminaUnet(),
        ...(te ? [{ name: 'lora_te_model_layers_0_self_attn_q_proj', in: 2304, out: 2048 }, { name: 'lora_te_model_layers_0_mlp_gate_proj', in: 2304, out: 9216 }] : []),
      ];
  }
}

// ---- numbers ---------------------------------------------------------------------------------------

/** mulberry32: a small deterministic PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function toF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    if ((mant >>> (shift - 1)) & 1) half += 1;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 13);
  if (mant & 0x1000) half += 1;
  return half;
}

function toBf16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function encodeValues(values: ArrayLike<number>, dtype: SafetensorsDtype): Uint8Array {
  if (dtype === 'F32') {
    const out = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = values[i] as number;
    return new Uint8Array(out.buffer);
  }
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = dtype === 'F16' ? toF16Bits(values[i] as number) : toBf16Bits(values[i] as number);
  return new Uint8Array(bits.buffer);
}

/** `save_precision` → safetensors dtype (default: the training dtype from `mixed_precision`). */
export function saveDtype(savePrecision: string | undefined, mixedPrecision: string | undefined): SafetensorsDtype {
  const p = savePrecision ?? (mixedPrecision === 'fp16' ? 'fp16' : mixedPrecision === 'bf16' ? 'bf16' : 'float');
  return p === 'fp16' ? 'F16' : p === 'bf16' ? 'BF16' : 'F32';
}

/**
 * The LoRA tensors at a point of training: `progress` in [0, 1] scales `lora_up` (zero at the start, as
 * kohya initialises it), so checkpoints of different epochs differ.
 */
export function loraTensors(modules: readonly LoraModule[], params: { rank: number; alpha: number; dtype: SafetensorsDtype; seed: number; progress: number }): WeightTensor[] {
  const random = prng(params.seed);
  const out: WeightTensor[] = [];
  const r = params.rank;
  for (const module of modules) {
    const downShape = module.conv1x1 ? [r, module.in, 1, 1] : [r, module.in];
    const upShape = module.conv1x1 ? [module.out, r, 1, 1] : [module.out, r];
    const down = new Float32Array(r * module.in);
    for (let i = 0; i < down.length; i++) down[i] = (random() - 0.5) * 0.1;
    const up = new Float32Array(module.out * r);
    for (let i = 0; i < up.length; i++) up[i] = (random() - 0.5) * 0.01 * params.progress;
    out.push(
      { name: `${module.name}.lora_down.weight`, dtype: params.dtype, shape: downShape, data: encodeValues(down, params.dtype) },
      { name: `${module.name}.lora_up.weight`, dtype: params.dtype, shape: upShape, data: encodeValues(up, params.dtype) },
      { name: `${module.name}.alpha`, dtype: params.dtype, shape: [], data: encodeValues([params.alpha], params.dtype) },
    );
  }
  return out;
}

/** A tiny stand-in for a full fine-tune checkpoint (train_db.py, sdxl_train.py, flux_train.py): a few named tensors. */
export function checkpointTensors(family: DoubleFamily, params: { dtype: SafetensorsDtype; seed: number }): WeightTensor[] {
  const random = prng(params.seed);
  const names =
    family === 'flux'
      ? ['double_blocks.0.img_attn.qkv.weight', 'single_blocks.0.linear1.weight']
      : family === 'sdxl'
        ? ['model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight', 'conditioner.embedders.0.transformer.text_model.final_layer_norm.weight']
        : ['model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight', 'cond_stage_model.transformer.text_model.final_layer_norm.weight'];
  return names.map((name) => {
    const values = new Float32Array(64);
    for (let i = 0; i < values.length; i++) values[i] = random() - 0.5;
    return { name, dtype: params.dtype, shape: [8, 8], data: encodeValues(values, params.dtype) };
  });
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectFamilyAndKind } from './detect-family-and-kind.ts';
import type { Fingerprint, TensorDescription } from './types.ts';

const KINDS = ['checkpoint', 'lora', 'vae', 'text-encoder', 'embedding', 'tagger', 'other'];
const FAMILIES = [
  ...['sd1', 'sd2', 'sdxl', 'sd3', 'flux1', 'chroma', 'lumina2'],
  ...['hunyuan-image-2.1', 'anima', 'fluxflow', 'unknown'],
];

/** Name pieces the rules look for, so random names hit the rules' edges, not only the "nothing matched" path. */
const PREFIXES = [
  '', 'model.diffusion_model.', 'lora_unet_', 'lora_te_', 'lora_te1_', 'lora_te2_', 'lora_te3_', 'unet.', 'transformer.',
  'text_encoder.', 'text_encoder_2.', 'conditioner.embedders.', 'cond_stage_model.', 'first_stage_model.', 'net.', 'diffuser.',
  'double_blocks.0.', 'single_blocks.0.', 'joint_blocks.0.', 'layers.1.', 'text_model.encoder.layers.0.', 'string_to_param.',
];
const MIDDLES = [
  ...['attn2_to_k', 'attn2.to_k', 'img_attn.qkv', 'img_attn_qkv', 'linear1'],
  ...['x_block.attn2.ln_k', 'self_attn_q_proj', 'encoder_layers_15_', 'a.b', ''],
];
const SUFFIXES = [
  '', '.weight', '.lora_down.weight', '.lora_up.weight', '.lora_A.weight', '.lora_B.weight', '.lora.down.weight', '.alpha',
  '.hada_w1_a', '.hada_w1_b', '.lokr_w1', '.lokr_w2_b', '.dora_scale', '.diff', 'emb_params', 'clip_l',
];

const tensorArb: fc.Arbitrary<TensorDescription> = fc.record({
  name: fc.oneof(
    fc
      .tuple(fc.constantFrom(...PREFIXES), fc.constantFrom(...MIDDLES), fc.constantFrom(...SUFFIXES))
      .map((parts) => parts.join('')),
    fc.string({ maxLength: 40 }),
  ),
  dtype: fc.constantFrom('F16', 'BF16', 'F32', 'I8', '??'),
  shape: fc.array(fc.nat({ max: 5000 }), { maxLength: 5 }),
});

const metadataArb = fc.dictionary(
  fc.constantFrom(
    ...['ss_base_model_version', 'modelspec.architecture', 'modelspec.prediction_type'],
    ...['ss_network_module', 'ss_network_args', 'ss_network_alpha', 'x'],
  ),
  fc.oneof(
    fc.constantFrom(
      ...['sd_v2_v', 'sdxl_base_v1-0', '5-large', 'flux-1-dev/lora', 'chroma', 'v', 'epsilon'],
      ...['lycoris.kohya', '{"split_qkv":"True","algo":"loha"}', '{', 'Dynamic', '4'],
    ),
    fc.string({ maxLength: 20 }),
  ),
);

function wellFormed(result: Fingerprint): void {
  expect(KINDS).toContain(result.kind);
  expect(FAMILIES).toContain(result.family);
  expect(['epsilon', 'v', 'unknown']).toContain(result.predictionType);
  expect(result.evidence.length).toBeGreaterThan(0);
  for (const line of result.evidence) expect(typeof line).toBe('string');
  expect(result.lora === null).toBe(result.kind !== 'lora');
  if (result.lora !== null) {
    for (const value of [result.lora.rank, result.lora.convRank, result.lora.alpha]) {
      if (value !== null) expect(Number.isNaN(value)).toBe(false);
    }
  }
  // Plain data only: it goes into the library record and over the API as JSON.
  expect(JSON.parse(JSON.stringify(result))).toEqual(result);
}

describe('detectFamilyAndKind properties', () => {
  it('never throws and always answers in the vocabulary', () => {
    fc.assert(
      fc.property(fc.array(tensorArb, { maxLength: 40 }), metadataArb, (tensors, metadata) => {
        wellFormed(detectFamilyAndKind({ tensors, metadata }));
      }),
      { seed: 20_260_217, numRuns: 2000 },
    );
  });

  it('is order-independent in kind and family for well-formed kohya files', () => {
    const modules = ['attn2_to_k', 'attn2_to_v', 'attn1_to_q', 'ff_net_2'].map(
      (m) => `lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_${m}`,
    );
    const tensors = modules.flatMap((m) => [
      { name: `${m}.lora_down.weight`, dtype: 'F16', shape: [8, 768] },
      { name: `${m}.lora_up.weight`, dtype: 'F16', shape: [320, 8] },
    ]);
    fc.assert(
      fc.property(fc.shuffledSubarray(tensors, { minLength: tensors.length, maxLength: tensors.length }), (shuffled) => {
        const result = detectFamilyAndKind({ tensors: shuffled, metadata: {} });
        expect(result).toMatchObject({ kind: 'lora', family: 'sd1', lora: { rank: 8, moduleCount: 4 } });
      }),
      { seed: 7, numRuns: 50 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { detectFamilyAndKind } from './detect-family-and-kind.ts';
import type { ModelDescription, TensorDescription } from './types.ts';

const t = (name: string, shape: number[], dtype = 'F16'): TensorDescription => ({ name, dtype, shape });
const model = (tensors: TensorDescription[], metadata: Record<string, string> = {}): ModelDescription => ({
  tensors,
  metadata,
});

/** A kohya pair (+ alpha) for one module, shapes as §7.1 gives them. */
const kohya = (module: string, rank: number, inDim: number, outDim: number): TensorDescription[] => [
  t(`${module}.lora_down.weight`, [rank, inDim]),
  t(`${module}.lora_up.weight`, [outDim, rank]),
  t(`${module}.alpha`, []),
];
const peft = (module: string, rank: number, inDim: number, outDim: number): TensorDescription[] => [
  t(`${module}.lora_A.weight`, [rank, inDim]),
  t(`${module}.lora_B.weight`, [outDim, rank]),
];

const SD_VAE = [
  t('first_stage_model.encoder.down.0.block.0.conv1.weight', [128, 128, 3, 3]),
  t('first_stage_model.decoder.up.0.block.0.conv1.weight', [128, 128, 3, 3]),
  t('first_stage_model.quant_conv.weight', [8, 8, 1, 1]),
];

describe('detectFamilyAndKind: full checkpoints (§7.4)', () => {
  it('SD1.x: CLIP text model and cross-attention width 768', () => {
    const result = detectFamilyAndKind(
      model([
        t('model.diffusion_model.input_blocks.0.0.weight', [320, 4, 3, 3]),
        t('model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight', [320, 768]),
        t('cond_stage_model.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight', [768, 768]),
        ...SD_VAE,
      ]),
    );
    expect(result).toMatchObject({ kind: 'checkpoint', family: 'sd1', variant: null, predictionType: 'unknown', lora: null });
    expect(result.evidence.join('\n')).toContain('cond_stage_model.transformer.text_model.encoder.layers.0');
    expect(result.evidence.join('\n')).toContain('the user confirms');
  });

  it('SD1.x from the old CLIP layout alone', () => {
    const result = detectFamilyAndKind(
      model([
        t('model.diffusion_model.out.2.weight', [4, 320, 3, 3]),
        t('cond_stage_model.transformer.encoder.layers.0.mlp.fc1.weight', [3072, 768]),
      ]),
    );
    expect(result).toMatchObject({ kind: 'checkpoint', family: 'sd1' });
  });

  it('SD2.x: OpenCLIP resblocks and width 1024; prediction type left to the user', () => {
    const result = detectFamilyAndKind(
      model([
        t('model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight', [320, 1024]),
        t('cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight', [3072, 1024]),
        ...SD_VAE,
      ]),
    );
    expect(result).toMatchObject({ kind: 'checkpoint', family: 'sd2', predictionType: 'unknown' });
  });

  it('SD2.x by cross-attention width alone', () => {
    const result = detectFamilyAndKind(
      model([t('model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight', [320, 1024])]),
    );
    expect(result.family).toBe('sd2');
    expect(result.evidence.join('\n')).toContain('input width 1024 → sd2');
  });

  it('SD2.x v-prediction only from the metadata', () => {
    const tensors = [t('model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight', [320, 1024])];
    expect(detectFamilyAndKind(model(tensors, { ss_base_model_version: 'sd_v2_v' })).predictionType).toBe('v');
    expect(detectFamilyAndKind(model(tensors, { ss_base_model_version: 'sd_v2' })).predictionType).toBe('epsilon');
    expect(detectFamilyAndKind(model(tensors, { 'modelspec.prediction_type': 'v' })).predictionType).toBe('v');
    const conflicting = detectFamilyAndKind(
      model(tensors, { ss_base_model_version: 'sd_v2_v', 'modelspec.prediction_type': 'epsilon' }),
    );
    expect(conflicting.predictionType).toBe('unknown');
    expect(conflicting.evidence.some((line) => line.startsWith('conflict:'))).toBe(true);
  });

  it('SDXL: conditioner embedders, label_emb, width 2048', () => {
    const result = detectFamilyAndKind(
      model([
        t('conditioner.embedders.0.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight', [768, 768]),
        t('conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight', [3840, 1280]),
        t('model.diffusion_model.label_emb.0.0.weight', [1280, 2816]),
        t('model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight', [640, 2048]),
        ...SD_VAE,
      ]),
    );
    expect(result).toMatchObject({ kind: 'checkpoint', family: 'sdxl' });
  });

  it('SD3 medium, 3.5 large and 3.5 medium from the qk_norm keys', () => {
    const base = [
      t('model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight', [4608, 1536]),
      t('model.diffusion_model.joint_blocks.0.context_block.attn.qkv.weight', [4608, 1536]),
      t('text_encoders.clip_l.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight', [768, 768]),
    ];
    const lnK = t('model.diffusion_model.joint_blocks.0.context_block.attn.ln_k.weight', [64]);
    const attn2 = t('model.diffusion_model.joint_blocks.3.x_block.attn2.ln_k.weight', [64]);
    expect(detectFamilyAndKind(model(base))).toMatchObject({ kind: 'checkpoint', family: 'sd3', variant: 'sd3-medium' });
    expect(detectFamilyAndKind(model([...base, lnK])).variant).toBe('sd3.5-large');
    expect(detectFamilyAndKind(model([...base, lnK, attn2])).variant).toBe('sd3.5-medium');
  });

  it('FLUX.1 dev and schnell, BFL layout with and without the prefix', () => {
    const blocks = [
      t('double_blocks.0.img_attn.qkv.weight', [9216, 3072]),
      t('single_blocks.0.linear1.weight', [21504, 3072]),
    ];
    const dev = detectFamilyAndKind(model([...blocks, t('guidance_in.in_layer.bias', [3072])]));
    expect(dev).toMatchObject({ kind: 'checkpoint', family: 'flux1', variant: 'flux1-dev' });
    const prefixed = blocks.map((tensor) => ({ ...tensor, name: `model.diffusion_model.${tensor.name}` }));
    expect(detectFamilyAndKind(model(prefixed))).toMatchObject({ family: 'flux1', variant: 'flux1-schnell' });
  });

  it('FLUX.1 dev, diffusers layout', () => {
    const result = detectFamilyAndKind(
      model([
        t('transformer_blocks.0.attn.add_k_proj.bias', [3072]),
        t('single_transformer_blocks.0.attn.to_q.weight', [3072, 3072]),
        t('time_text_embed.guidance_embedder.linear_1.bias', [3072]),
      ]),
    );
    expect(result).toMatchObject({ kind: 'checkpoint', family: 'flux1', variant: 'flux1-dev' });
  });

  it('Chroma: FLUX blocks plus the distilled guidance layer', () => {
    const result = detectFamilyAndKind(
      model([
        t('double_blocks.0.img_attn.qkv.weight', [9216, 3072]),
        t('distilled_guidance_layer.in_proj.weight', [5120, 64]),
      ]),
    );
    expect(result).toMatchObject({ kind: 'checkpoint', family: 'chroma', variant: null });
  });

  it('HunyuanImage-2.1: flat img_attn_qkv and byt5_in', () => {
    const result = detectFamilyAndKind(
      model([t('double_blocks.0.img_attn_qkv.weight', [10752, 3584]), t('byt5_in.fc1.weight', [2048, 1472])]),
    );
    expect(result).toMatchObject({ kind: 'checkpoint', family: 'hunyuan-image-2.1' });
  });

  it('Lumina 2 and Anima', () => {
    expect(
      detectFamilyAndKind(
        model([
          t('layers.0.attention.qkv.weight', [6912, 2304]),
          t('noise_refiner.0.attention.qkv.weight', [6912, 2304]),
          t('cap_embedder.1.weight', [2304, 2304]),
        ]),
      ),
    ).toMatchObject({ kind: 'checkpoint', family: 'lumina2' });
    expect(
      detectFamilyAndKind(
        model([t('net.blocks.0.self_attn.q_proj.weight', [2048, 2048]), t('net.llm_adapter.in_proj.weight', [2048, 1024])]),
      ),
    ).toMatchObject({ kind: 'checkpoint', family: 'anima' });
  });

  it('FluxFlow outputs (fluxflow.md §1.6)', () => {
    expect(
      detectFamilyAndKind(
        model([
          t('diffuser.flow_processor.vae_to_dmodel.weight', [512, 128]),
          t('diffuser.compressor.latent_proj.0.0.weight', [640, 128]),
        ]),
      ),
    ).toMatchObject({ kind: 'checkpoint', family: 'fluxflow' });
    expect(
      detectFamilyAndKind(model([t('text_encoder.language_model.embeddings.word_embeddings.weight', [30522, 768])])),
    ).toMatchObject({ kind: 'text-encoder', family: 'fluxflow' });
    expect(detectFamilyAndKind(model([t('D_img.conv.0.weight', [64, 3, 4, 4])]))).toMatchObject({
      kind: 'other',
      family: 'fluxflow',
    });
  });

  it('metadata wins over the keys, and a disagreement is reported', () => {
    const result = detectFamilyAndKind(
      model([t('model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight', [320, 768])], {
        'modelspec.architecture': 'stable-diffusion-xl-v1-base',
      }),
    );
    expect(result.family).toBe('sdxl');
    expect(result.evidence).toContain('conflict: metadata says sdxl, keys say sd1; using the metadata');
  });
});

describe('detectFamilyAndKind: components', () => {
  it('a lone VAE, LDM and diffusers layouts; its family is not decided by keys', () => {
    const ldm = detectFamilyAndKind(
      model([
        t('encoder.down.0.block.0.conv1.weight', [128, 128, 3, 3]),
        t('decoder.up.0.block.0.conv1.weight', [128, 128, 3, 3]),
        t('quant_conv.weight', [8, 8, 1, 1]),
        t('post_quant_conv.weight', [4, 4, 1, 1]),
      ]),
    );
    expect(ldm).toMatchObject({ kind: 'vae', family: 'unknown' });
    const diffusers = detectFamilyAndKind(
      model([
        t('encoder.down_blocks.0.resnets.0.conv1.weight', [128, 128, 3, 3]),
        t('decoder.up_blocks.0.resnets.0.conv1.weight', [512, 512, 3, 3]),
      ]),
    );
    expect(diffusers.kind).toBe('vae');
  });

  it('text encoders: CLIP, T5, and one cut from an SD2 checkpoint', () => {
    expect(
      detectFamilyAndKind(model([t('text_model.encoder.layers.0.self_attn.q_proj.weight', [768, 768])])),
    ).toMatchObject({ kind: 'text-encoder', family: 'unknown' });
    expect(
      detectFamilyAndKind(model([t('encoder.block.0.layer.0.SelfAttention.q.weight', [4096, 4096]), t('shared.weight', [32128, 4096])])),
    ).toMatchObject({ kind: 'text-encoder' });
    expect(
      detectFamilyAndKind(model([t('cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight', [3072, 1024])])),
    ).toMatchObject({ kind: 'text-encoder', family: 'sd2' });
  });

  it('textual inversion: emb_params width, SDXL pairs, A1111 names, declared architecture', () => {
    expect(detectFamilyAndKind(model([t('emb_params', [4, 768])]))).toMatchObject({ kind: 'embedding', family: 'sd1' });
    expect(detectFamilyAndKind(model([t('emb_params', [8, 1024])]))).toMatchObject({ kind: 'embedding', family: 'sd2' });
    expect(detectFamilyAndKind(model([t('clip_l', [2, 768]), t('clip_g', [2, 1280])]))).toMatchObject({
      kind: 'embedding',
      family: 'sdxl',
    });
    expect(detectFamilyAndKind(model([t('string_to_param.*', [1, 768])]))).toMatchObject({ kind: 'embedding', family: 'sd1' });
    expect(
      detectFamilyAndKind(model([t('vectors', [3, 768])], { 'modelspec.architecture': 'stable-diffusion-v1/textual-inversion' })),
    ).toMatchObject({ kind: 'embedding', family: 'sd1' });
  });

  it('unrecognised layouts are other/unknown with a reason', () => {
    const result = detectFamilyAndKind(model([t('backbone.stem.weight', [64, 3, 7, 7])]));
    expect(result).toMatchObject({ kind: 'other', family: 'unknown', variant: null, lora: null });
    expect(result.evidence[0]).toContain('no');
    expect(detectFamilyAndKind(model([]))).toMatchObject({ kind: 'other', family: 'unknown' });
  });
});

describe('detectFamilyAndKind: LoRA families (§7.3)', () => {
  it('kohya SD1.x: width 768, one text encoder', () => {
    const result = detectFamilyAndKind(
      model([
        ...kohya('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k', 8, 768, 320),
        ...kohya('lora_unet_mid_block_attentions_0_proj_in', 8, 1280, 1280),
        ...kohya('lora_te_text_model_encoder_layers_11_mlp_fc2', 8, 3072, 768),
      ]),
    );
    expect(result).toMatchObject({ kind: 'lora', family: 'sd1' });
    expect(result.lora).toMatchObject({
      naming: 'kohya',
      algorithm: 'lora',
      rank: 8,
      moduleCount: 3,
      targets: { unet: 2, conv: 0, textEncoders: { lora_te: 1 } },
    });
  });

  it('kohya SD2.x: width 1024, or a text encoder deeper than 12 layers', () => {
    expect(
      detectFamilyAndKind(model(kohya('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k', 4, 1024, 320)))
        .family,
    ).toBe('sd2');
    const teOnly = detectFamilyAndKind(model(kohya('lora_te_text_model_encoder_layers_22_self_attn_q_proj', 4, 1024, 1024)));
    expect(teOnly.family).toBe('sd2');
    expect(teOnly.evidence.join('\n')).toContain('layer 22');
    expect(
      detectFamilyAndKind(model(kohya('lora_te_text_model_encoder_layers_3_self_attn_q_proj', 4, 768, 768))).family,
    ).toBe('sd1');
  });

  it('SD naming without a telling width stays unknown', () => {
    const result = detectFamilyAndKind(model(kohya('lora_unet_down_blocks_0_resnets_0_time_emb_proj', 4, 1280, 320)));
    expect(result).toMatchObject({ kind: 'lora', family: 'unknown' });
    expect(result.evidence.join('\n')).toContain('SD1.x or SD2.x');
  });

  it('kohya SDXL: SGM block names, two text encoders', () => {
    const result = detectFamilyAndKind(
      model([
        ...kohya('lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k', 16, 2048, 640),
        ...kohya('lora_te1_text_model_encoder_layers_0_self_attn_q_proj', 16, 768, 768),
        ...kohya('lora_te2_text_model_encoder_layers_31_mlp_fc1', 16, 1280, 5120),
      ]),
    );
    expect(result).toMatchObject({ kind: 'lora', family: 'sdxl' });
    expect(result.lora?.targets.textEncoders).toEqual({ lora_te1: 1, lora_te2: 1 });
  });

  it('kohya FLUX.1 with the shapes of convert_flux_lora.py', () => {
    const result = detectFamilyAndKind(
      model(
        [
          ...kohya('lora_unet_double_blocks_0_img_attn_qkv', 4, 3072, 9216),
          ...kohya('lora_unet_single_blocks_0_linear1', 4, 3072, 21504),
          ...kohya('lora_unet_single_blocks_0_linear2', 4, 15360, 3072),
          ...kohya('lora_te1_text_model_encoder_layers_0_self_attn_q_proj', 4, 768, 768),
        ],
        { ss_network_module: 'networks.lora_flux', ss_network_dim: '4', ss_network_alpha: '1.0' },
      ),
    );
    expect(result).toMatchObject({ kind: 'lora', family: 'flux1' });
    expect(result.lora).toMatchObject({
      rank: 4,
      alpha: 1,
      alphaSource: 'metadata',
      networkModule: 'networks.lora_flux',
      targets: { unet: 3, textEncoders: { lora_te1: 1 } },
    });
  });

  it('FLUX split_qkv: merged qkv (3r) and linear1 (4r) rows count as rank r', () => {
    const result = detectFamilyAndKind(
      model(
        [
          ...kohya('lora_unet_double_blocks_0_img_attn_qkv', 12, 3072, 9216),
          ...kohya('lora_unet_single_blocks_0_linear1', 16, 3072, 21504),
          ...kohya('lora_unet_single_blocks_0_linear2', 4, 15360, 3072),
        ],
        { ss_network_args: '{"split_qkv": "True"}' },
      ),
    );
    expect(result.lora).toMatchObject({ rank: 4, rankByModule: null });
  });

  it('Chroma LoRA: FLUX names, Chroma metadata, no conflict', () => {
    const result = detectFamilyAndKind(
      model(kohya('lora_unet_double_blocks_0_img_attn_qkv', 4, 3072, 9216), { ss_base_model_version: 'chroma' }),
    );
    expect(result.family).toBe('chroma');
    expect(result.evidence.some((line) => line.startsWith('conflict:'))).toBe(false);
  });

  it('HunyuanImage-2.1: FLUX names at width 3584', () => {
    expect(detectFamilyAndKind(model(kohya('lora_unet_double_blocks_0_img_attn_qkv', 4, 3584, 10752))).family).toBe(
      'hunyuan-image-2.1',
    );
  });

  it('SD3 by joint blocks or T5 with CLIP-G; FLUX by T5 without CLIP-G', () => {
    expect(detectFamilyAndKind(model(kohya('lora_unet_joint_blocks_0_x_block_attn_qkv', 4, 1536, 4608))).family).toBe('sd3');
    expect(
      detectFamilyAndKind(
        model([
          ...kohya('lora_te2_text_model_encoder_layers_0_self_attn_q_proj', 4, 1280, 1280),
          ...kohya('lora_te3_encoder_block_0_layer_0_SelfAttention_q', 4, 4096, 4096),
        ]),
      ).family,
    ).toBe('sd3');
    expect(detectFamilyAndKind(model(kohya('lora_te3_encoder_block_0_layer_0_SelfAttention_q', 4, 4096, 4096))).family).toBe(
      'flux1',
    );
  });

  it('Lumina 2 and Anima LoRAs', () => {
    expect(
      detectFamilyAndKind(
        model([
          ...kohya('lora_unet_layers_0_attention_qkv', 8, 2304, 6912),
          ...kohya('lora_unet_noise_refiner_0_attention_qkv', 8, 2304, 6912),
        ]),
      ).family,
    ).toBe('lumina2');
    expect(detectFamilyAndKind(model(kohya('lora_unet_blocks_0_self_attn_q_proj', 8, 2048, 2048))).family).toBe('anima');
  });

  it('PEFT SDXL and FLUX; old diffusers naming', () => {
    const sdxl = detectFamilyAndKind(
      model([
        ...peft('unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k', 8, 2048, 640),
        ...peft('text_encoder_2.text_model.encoder.layers.0.self_attn.q_proj', 8, 1280, 1280),
      ]),
    );
    expect(sdxl).toMatchObject({ kind: 'lora', family: 'sdxl' });
    expect(sdxl.lora).toMatchObject({
      naming: 'peft',
      rank: 8,
      alpha: 8,
      alphaSource: 'implied-rank',
      targets: { unet: 1, textEncoders: { text_encoder_2: 1 } },
    });
    const flux = detectFamilyAndKind(
      model([
        ...peft('transformer.transformer_blocks.0.attn.add_q_proj', 16, 3072, 3072),
        ...peft('transformer.single_transformer_blocks.0.attn.to_q', 16, 3072, 3072),
      ]),
    );
    expect(flux).toMatchObject({ kind: 'lora', family: 'flux1' });
    const legacy = detectFamilyAndKind(
      model([
        t('unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora.down.weight', [4, 768]),
        t('unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora.up.weight', [320, 4]),
      ]),
    );
    expect(legacy).toMatchObject({ kind: 'lora', family: 'sd1', lora: { naming: 'diffusers-legacy', rank: 4 } });
  });
});

describe('detectFamilyAndKind: LoRA forms, ranks and alphas', () => {
  it('LoCon with conv layers: conv rank apart from the linear rank', () => {
    const result = detectFamilyAndKind(
      model(
        [
          ...kohya('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k', 16, 768, 320),
          t('lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight', [4, 320, 3, 3]),
          t('lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight', [320, 4, 1, 1]),
          t('lora_unet_down_blocks_0_resnets_0_conv1.alpha', []),
        ],
        { ss_network_module: 'lycoris.kohya', ss_network_args: '{"algo": "locon", "conv_dim": "4"}' },
      ),
    );
    expect(result.lora).toMatchObject({
      algorithm: 'locon',
      rank: 16,
      convRank: 4,
      targets: { unet: 2, conv: 1 },
    });
    expect(result.lora?.rankByModule).toEqual({
      lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k: 16,
      lora_unet_down_blocks_0_resnets_0_conv1: 4,
    });
  });

  it('LoHa: rank from hada_w*_b, family from its in-width', () => {
    const module = 'lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k';
    const result = detectFamilyAndKind(
      model([
        t(`${module}.hada_w1_a`, [640, 8]),
        t(`${module}.hada_w1_b`, [8, 2048]),
        t(`${module}.hada_w2_a`, [640, 8]),
        t(`${module}.hada_w2_b`, [8, 2048]),
        t(`${module}.alpha`, []),
      ], { ss_network_module: 'lycoris.kohya', ss_network_args: '{"algo": "loha"}' }),
    );
    expect(result).toMatchObject({ kind: 'lora', family: 'sdxl', lora: { algorithm: 'loha', rank: 8, naming: 'kohya' } });
    expect(result.evidence).toContain('ss_network_args algo="loha"');
  });

  it('LoKr, with and without a decomposed factor', () => {
    const result = detectFamilyAndKind(
      model([
        t('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lokr_w1', [8, 8]),
        t('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lokr_w2_a', [40, 4]),
        t('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lokr_w2_b', [4, 40]),
        t('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.alpha', []),
      ]),
    );
    expect(result.lora).toMatchObject({ algorithm: 'lokr', rank: 4 });
    const full = detectFamilyAndKind(
      model([t('lora_unet_mid_block_attentions_0_proj_in.lokr_w1', [8, 8]), t('lora_unet_mid_block_attentions_0_proj_in.lokr_w2', [160, 160])]),
    );
    expect(full.lora).toMatchObject({ algorithm: 'lokr', rank: null });
  });

  it('DoRA: dora_scale on LyCORIS LoRA modules', () => {
    const result = detectFamilyAndKind(
      model([
        ...kohya('lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_q', 8, 640, 640),
        t('lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_q.dora_scale', [1, 640]),
      ], { ss_network_module: 'lycoris.kohya' }),
    );
    expect(result.lora).toMatchObject({ algorithm: 'locon', dora: true });
    expect(result.evidence.join('\n')).toContain('+ DoRA');
  });

  it('LyCORIS full: diff tensors under kohya names only', () => {
    const result = detectFamilyAndKind(
      model([t('lora_unet_mid_block_attentions_0_proj_in.diff', [1280, 1280]), t('lora_unet_mid_block_attentions_0_proj_in.diff_b', [1280])]),
    );
    expect(result.lora).toMatchObject({ algorithm: 'full', rank: null });
    expect(detectFamilyAndKind(model([t('some.layer.diff', [4, 4])])).kind).toBe('other');
  });

  it('per-module alphas from the read scalars; uniform alpha collapses', () => {
    const tensors = [
      ...kohya('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k', 8, 768, 320),
      ...kohya('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_v', 8, 768, 320),
    ];
    const varying = detectFamilyAndKind({
      ...model(tensors),
      scalars: {
        'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha': 4,
        'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_v.alpha': 1,
      },
    });
    expect(varying.lora).toMatchObject({
      alpha: null,
      alphaSource: 'tensors',
      alphaByModule: {
        lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k: 4,
        lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_v: 1,
      },
    });
    const uniform = detectFamilyAndKind({
      ...model(tensors),
      scalars: {
        'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha': 4,
        'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_v.alpha': 4,
      },
    });
    expect(uniform.lora).toMatchObject({ alpha: 4, alphaSource: 'tensors', alphaByModule: null });
    expect(detectFamilyAndKind(model(tensors)).lora).toMatchObject({ alpha: null, alphaSource: 'unknown' });
  });

  it('a declared adapter without known suffixes is still a LoRA', () => {
    const result = detectFamilyAndKind(
      model([t('lora_unet_down_blocks_0_attentions_0_proj_in.oft_blocks', [4, 80, 80])], { ss_network_module: 'networks.oft' }),
    );
    expect(result).toMatchObject({ kind: 'lora', lora: { moduleCount: 0, algorithm: 'unknown' } });
  });
});

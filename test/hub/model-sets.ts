/**
 * Multi-file models as a Hugging Face repo lists them, built in memory: a Stable Diffusion 1.x diffusers
 * pipeline (configs as plain git files, weights in LFS, a `.bin` beside its safetensors twin and one
 * without), a FLUX.1-dev pipeline whose transformer keys name the family, sharded weights, and a WD14
 * tagger. Tensor shapes are tiny: names and a few widths are what the fingerprint reads.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSafetensors } from '../../src/formats/safetensors/testing.ts';
import { buildTaggerModel, buildTagsCsv, FAKE_TAGS } from '../../src/datasets/tagging/testing.ts';
import type { HfFileSpec } from '../doubles/hub/hf-protocol.ts';

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const plain = (file: string, content: Buffer): HfFileSpec => ({ path: file, content, lfs: false });

/** A genuine `torch.save` state dict (a safe zip checkpoint the library converts). */
export function torchStateDict(): Buffer {
  return readFileSync(path.resolve('test/fixtures/torch/state-dict.pt'));
}

/** `StableDiffusionPipeline` for SD 1.x: the family comes from `unet/config.json`, the prediction type from the scheduler. */
export function sd15Pipeline(options: { unetBin?: Buffer; extra?: HfFileSpec[] } = {}): HfFileSpec[] {
  const unet = buildSafetensors({
    tensors: [
      { name: 'conv_in.weight', dtype: 'F16', shape: [320, 4, 3, 3] },
      { name: 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight', dtype: 'F16', shape: [320, 768] },
    ],
  });
  return [
    plain(
      'model_index.json',
      json({
        _class_name: 'StableDiffusionPipeline',
        _diffusers_version: '0.32.1',
        feature_extractor: [null, null],
        requires_safety_checker: false,
        safety_checker: [null, null],
        scheduler: ['diffusers', 'PNDMScheduler'],
        text_encoder: ['transformers', 'CLIPTextModel'],
        tokenizer: ['transformers', 'CLIPTokenizer'],
        unet: ['diffusers', 'UNet2DConditionModel'],
        vae: ['diffusers', 'AutoencoderKL'],
      }),
    ),
    plain('README.md', Buffer.from('# sd15\nA pipeline for tests.\n')),
    plain('scheduler/scheduler_config.json', json({ _class_name: 'PNDMScheduler', prediction_type: 'epsilon', num_train_timesteps: 1000 })),
    plain('text_encoder/config.json', json({ architectures: ['CLIPTextModel'], hidden_size: 768 })),
    { path: 'text_encoder/model.safetensors', content: buildSafetensors({ tensors: [{ name: 'text_model.encoder.layers.0.mlp.fc1.weight', dtype: 'F16', shape: [8, 4] }] }) },
    plain('tokenizer/merges.txt', Buffer.from('#version: 0.2\nt h\nth e</w>\n')),
    plain('tokenizer/vocab.json', json({ '!': 0, the: 1 })),
    plain('unet/config.json', json({ _class_name: 'UNet2DConditionModel', cross_attention_dim: 768, in_channels: 4 })),
    { path: 'unet/diffusion_pytorch_model.safetensors', content: unet },
    ...(options.unetBin === undefined ? [] : [{ path: 'unet/diffusion_pytorch_model.bin', content: options.unetBin }]),
    plain('vae/config.json', json({ _class_name: 'AutoencoderKL', latent_channels: 4 })),
    { path: 'vae/diffusion_pytorch_model.bin', content: torchStateDict() },
    ...(options.extra ?? []),
  ];
}

/** `FluxPipeline` whose transformer is split in two shards: the keys of both together say FLUX.1-dev. */
export function fluxPipeline(): HfFileSpec[] {
  const first = buildSafetensors({
    tensors: [
      { name: 'transformer_blocks.0.attn.add_k_proj.bias', dtype: 'BF16', shape: [64] },
      { name: 'time_text_embed.guidance_embedder.linear_1.bias', dtype: 'BF16', shape: [64] },
      { name: 'x_embedder.weight', dtype: 'BF16', shape: [64, 64] },
    ],
  });
  const second = buildSafetensors({ tensors: [{ name: 'single_transformer_blocks.0.proj_out.weight', dtype: 'BF16', shape: [8, 8] }] });
  return [
    plain('model_index.json', json({ _class_name: 'FluxPipeline', _diffusers_version: '0.32.0', scheduler: ['diffusers', 'FlowMatchEulerDiscreteScheduler'], transformer: ['diffusers', 'FluxTransformer2DModel'] })),
    plain('scheduler/scheduler_config.json', json({ _class_name: 'FlowMatchEulerDiscreteScheduler', shift: 3 })),
    plain('transformer/config.json', json({ _class_name: 'FluxTransformer2DModel', guidance_embeds: true })),
    plain('transformer/diffusion_pytorch_model.safetensors.index.json', json({ weight_map: {} })),
    { path: 'transformer/diffusion_pytorch_model-00001-of-00002.safetensors', content: first },
    { path: 'transformer/diffusion_pytorch_model-00002-of-00002.safetensors', content: second },
  ];
}

/** A CLIP text encoder in two shards; only the smaller second shard holds the keys that name it. */
export function shardedTextEncoder(): HfFileSpec[] {
  const first = buildSafetensors({ tensors: [{ name: 'logit_scale_table', dtype: 'F32', shape: [512] }] });
  const second = buildSafetensors({ tensors: [{ name: 'text_model.encoder.layers.0.self_attn.k_proj.weight', dtype: 'F16', shape: [8, 8] }] });
  return [
    plain('model.safetensors.index.json', json({ metadata: { total_size: first.length + second.length }, weight_map: {} })),
    { path: 'model-00001-of-00002.safetensors', content: first },
    { path: 'model-00002-of-00002.safetensors', content: second },
  ];
}

/** A WD14 tagger repo: model.onnx, selected_tags.csv and a README. */
export function taggerRepo(): HfFileSpec[] {
  return [
    { path: 'model.onnx', content: Buffer.from(buildTaggerModel({ tags: FAKE_TAGS, size: 32 })) },
    plain('selected_tags.csv', Buffer.from(buildTagsCsv(FAKE_TAGS))),
    plain('README.md', Buffer.from('# tagger\n')),
  ];
}

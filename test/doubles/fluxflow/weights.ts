/**
 * FLUXFLOW ENGINE DOUBLE — the checkpoint files fluxflow-training writes (fluxflow.md §1.6), with its key
 * prefixes and the shapes the dims are inferred from (`vae_to_dmodel.weight` [feature_maps_dim, vae_dim],
 * `text_proj.weight` [·, text_embedding_dim], `latent_proj.*.0.0.weight` [5·vae_dim, ·], `rotary_pe.inv_freq`
 * [feature_maps_dim / 16] for 8 heads). A handful of tensors per part stands in for the real ~183M
 * parameters, and DistilBERT's hidden size is cut from 768 to 8 so a test's checkpoints stay small. Like the
 * real ones, the files carry no `__metadata__`.
 */
import { writeSafetensors, type SafetensorsTensorInput } from '../../../src/formats/safetensors/index.ts';

export interface ModelDims {
  vaeDim: number;
  featureMapsDim: number;
  featureMapsDimDisc: number;
  textEmbeddingDim: number;
}

/** Deterministic values: the same dims and step give the same bytes. */
function values(count: number, seed: number): Uint8Array {
  const out = new Float32Array(count);
  let state = seed >>> 0 || 1;
  for (let index = 0; index < count; index += 1) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[index] = (state / 2 ** 32 - 0.5) * 0.02;
  }
  return new Uint8Array(out.buffer);
}

function tensor(name: string, shape: number[], seed: number): SafetensorsTensorInput {
  return { name, dtype: 'F32', shape, data: values(shape.reduce((a, b) => a * b, 1), seed) };
}

/** `flxflow_final.safetensors`: only `diffuser.{compressor,flow_processor,expander}.*`. */
export function diffuserTensors(dims: ModelDims, step: number): SafetensorsTensorInput[] {
  const { vaeDim: vae, featureMapsDim: feat, textEmbeddingDim: text } = dims;
  return [
    tensor('diffuser.compressor.encoder.0.weight', [16, 5, 3, 3], 11 + step),
    tensor('diffuser.compressor.latent_proj.0.0.weight', [vae * 5, 16], 12 + step),
    tensor('diffuser.flow_processor.vae_to_dmodel.weight', [feat, vae], 13 + step),
    tensor('diffuser.flow_processor.text_proj.weight', [feat, text], 14 + step),
    tensor('diffuser.flow_processor.rotary_pe.inv_freq', [Math.max(1, feat / 16)], 15),
    tensor('diffuser.flow_processor.transformer_blocks.0.self_attn.q_proj.weight', [feat, feat], 16 + step),
    tensor('diffuser.expander.out_proj.weight', [3, vae], 17 + step),
  ];
}

/** `text_encoder.safetensors`: `text_encoder.*`, the DistilBERT `language_model.*` included. */
export function textEncoderTensors(dims: ModelDims, step: number): SafetensorsTensorInput[] {
  return [
    tensor('text_encoder.language_model.embeddings.word_embeddings.weight', [30522, 8], 21 + step),
    tensor('text_encoder.language_model.transformer.layer.0.attention.q_lin.weight', [8, 8], 22 + step),
    tensor('text_encoder.projection.0.weight', [dims.textEmbeddingDim, 8], 23 + step),
  ];
}

/** `D_img.safetensors`: the GAN discriminator. */
export function discriminatorTensors(dims: ModelDims, step: number): SafetensorsTensorInput[] {
  return [tensor('D_img.conv.0.weight', [dims.featureMapsDimDisc * 8, 3, 4, 4], 31 + step)];
}

export async function writeWeights(file: string, tensors: SafetensorsTensorInput[]): Promise<void> {
  await writeSafetensors({ path: file, tensors, mode: 0o644 });
}

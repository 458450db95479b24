/** Small model files for tests, built the way the real tools lay them out. */
import { PickleWriter } from '../../src/formats/pickle/testing.ts';
import { buildSafetensors, rawSafetensors, type FixtureTensor } from '../../src/formats/safetensors/testing.ts';

/** A kohya-style SD 1.x LoRA: rank 4, alpha 2, UNet and text-encoder modules. */
export function sd1LoraSafetensors(): Buffer {
  const modules: Array<[string, number, number]> = [
    ['lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q', 320, 320],
    ['lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k', 768, 320],
    ['lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_out_0', 1280, 1280],
    ['lora_te_text_model_encoder_layers_0_self_attn_q_proj', 768, 768],
  ];
  const tensors: FixtureTensor[] = modules.flatMap(([name, inDim, outDim]) => [
    { name: `${name}.lora_down.weight`, dtype: 'F16', shape: [4, inDim] },
    { name: `${name}.lora_up.weight`, dtype: 'F16', shape: [outDim, 4] },
    { name: `${name}.alpha`, dtype: 'F16', shape: [] },
  ]);
  return buildSafetensors({
    tensors,
    metadata: { ss_network_module: 'networks.lora', ss_network_dim: '4', ss_network_alpha: '2.0', ss_base_model_version: 'sd_v1', ss_output_name: 'sks_dog' },
  });
}

/** The same LoRA with another `ss_output_name`: different bytes, so the library never answers "duplicate". */
export function sd1LoraVariant(tag: string): Buffer {
  const base = sd1LoraSafetensors();
  const headerLength = Number(base.readBigUInt64LE(0));
  const header = JSON.parse(base.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
  header.__metadata__ = { ...((header.__metadata__ ?? {}) as Record<string, string>), ss_output_name: tag };
  let text = JSON.stringify(header);
  while ((8 + Buffer.byteLength(text)) % 8 !== 0) text += ' ';
  return rawSafetensors({ header: text, data: base.subarray(8 + headerLength) });
}

/** PKL-A02's shape: `posix.system("…")` through GLOBAL + REDUCE — what a booby-trapped .ckpt does. */
export function maliciousPickle(command = 'touch /tmp/lorasmith-pwned'): Uint8Array {
  return new PickleWriter().proto(2).global('posix', 'system').str(command).op(0x85).op(0x52).op(0x2e).bytes();
}

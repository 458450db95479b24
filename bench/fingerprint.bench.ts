/**
 * detectFamilyAndKind must stay linear in the number of tensors: 4× the tensors should cost about 4× the
 * time (16× would mean quadratic). A timing ratio, so it lives here and not in the tests.
 *
 *   node bench/fingerprint.bench.ts
 */
import { detectFamilyAndKind, type TensorDescription } from '../src/formats/fingerprint/index.ts';

const build = (modules: number): TensorDescription[] =>
  Array.from({ length: modules }, (_, i) => [
    { name: `lora_unet_output_blocks_${i}_1_transformer_blocks_0_attn2_to_k.lora_down.weight`, dtype: 'F16', shape: [8, 2048] },
    { name: `lora_unet_output_blocks_${i}_1_transformer_blocks_0_attn2_to_k.lora_up.weight`, dtype: 'F16', shape: [640, 8] },
    { name: `lora_unet_output_blocks_${i}_1_transformer_blocks_0_attn2_to_k.alpha`, dtype: 'F16', shape: [] },
  ]).flat();

function best(tensors: TensorDescription[], runs = 5): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    detectFamilyAndKind({ tensors, metadata: {} });
    min = Math.min(min, performance.now() - started);
  }
  return min;
}

const small = build(5_000);
const large = build(20_000);
best(small, 2); // warm the JIT
const a = best(small);
const b = best(large);
console.log(`15,000 tensors: ${a.toFixed(1)} ms; 60,000 tensors: ${b.toFixed(1)} ms; ratio ${(b / a).toFixed(1)} (linear ≈ 4, target < 9: ${b / a < 9 ? 'met' : 'MISSED'})`);

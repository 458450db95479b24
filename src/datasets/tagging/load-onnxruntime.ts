/**
 * onnxruntime-node, loaded on first use. Importing it loads its native binding (≈ 30 ms), and every CLI verb
 * that opens the studio reaches the tagger through the composition root although only tagging runs a
 * model; importing it here, when a tagger is opened, keeps that cost off the other verbs. Use `import type`
 * for its types.
 */
import type ort from 'onnxruntime-node';

let loading: Promise<typeof ort> | undefined;

export function loadOnnxRuntime(): Promise<typeof ort> {
  loading ??= import('onnxruntime-node').then((module) => module.default);
  return loading;
}

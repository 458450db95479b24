/**
 * Test fixtures: a tiny WD14-shaped tagger built with onnx-proto. The graph has the real signature — input
 * float32 [N, S, S, 3] BGR 0–255, output [N, T] sigmoid probabilities — and computes
 * sigmoid(mean over pixels of (B, G, R) · weights + bias), so every score is predictable from the image.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import sharp from 'sharp';
import { MODEL_FILE, TAGS_FILE } from './load-tagger.ts';

const { onnx } = onnxProto;

export interface FakeTag {
  name: string;
  category: 0 | 4 | 9;
  /** Weights on the mean B, G and R (0–255) and a bias, before the sigmoid. */
  b?: number;
  g?: number;
  r?: number;
  bias?: number;
}

/** The logit whose sigmoid is `p`: a bias that makes a tag's score `p` whatever the image. */
export const logit = (p: number): number => Math.log(p / (1 - p));

function valueInfo(name: string, dims: ReadonlyArray<number | string>): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })) },
      },
    },
  };
}

function floats(name: string, dims: number[], values: number[]): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: values };
}

export function buildTaggerModel(params: {
  tags: readonly FakeTag[];
  size?: number;
  /** A number fixes the batch dimension, as the original v2 exports did. */
  batch?: number | string;
  inputName?: string;
  outputName?: string;
  /** `nchw` builds the layout a WD14 tagger does not have, to test that it is refused. */
  layout?: 'nhwc' | 'nchw';
}): Uint8Array {
  const size = params.size ?? 448;
  const batch = params.batch ?? 'N';
  const inputName = params.inputName ?? 'input_1:0';
  const outputName = params.outputName ?? 'predictions_sigmoid';
  const t = params.tags.length;
  const nchw = params.layout === 'nchw';
  const weights = [...params.tags.map((tag) => tag.b ?? 0), ...params.tags.map((tag) => tag.g ?? 0), ...params.tags.map((tag) => tag.r ?? 0)];
  const graph: onnxProto.onnx.IGraphProto = {
    name: 'fake-wd14',
    node: [
      {
        opType: 'ReduceMean',
        input: [inputName],
        output: ['mean'],
        attribute: [
          { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: nchw ? [2, 3] : [1, 2] },
          { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
        ],
      },
      { opType: 'MatMul', input: ['mean', 'weights'], output: ['logits_raw'] },
      { opType: 'Add', input: ['logits_raw', 'bias'], output: ['logits'] },
      { opType: 'Sigmoid', input: ['logits'], output: [outputName] },
    ],
    initializer: [floats('weights', [3, t], weights), floats('bias', [t], params.tags.map((tag) => tag.bias ?? 0))],
    input: [valueInfo(inputName, nchw ? [batch, 3, size, size] : [batch, size, size, 3])],
    output: [valueInfo(outputName, [batch, t])],
  };
  const model = onnx.ModelProto.create({ irVersion: 7, producerName: 'lorasmith-test', opsetImport: [{ domain: '', version: 13 }], graph });
  return onnx.ModelProto.encode(model).finish();
}

export function buildTagsCsv(tags: readonly FakeTag[]): string {
  const quote = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
  return ['tag_id,name,category,count', ...tags.map((tag, i) => `${1000 + i},${quote(tag.name)},${tag.category},${100 - i}`)].join('\n') + '\n';
}

/** Write model.onnx and selected_tags.csv into `dir`, as a tagger library entry holds them. */
export async function writeFakeTagger(
  params: Parameters<typeof buildTaggerModel>[0] & { dir: string; /** A different tag list than the model's, to test the check. */ csvTags?: readonly FakeTag[] },
): Promise<{ modelPath: string; tagsCsvPath: string }> {
  const { dir, csvTags, ...model } = params;
  await mkdir(dir, { recursive: true });
  const modelPath = path.join(dir, MODEL_FILE);
  const tagsCsvPath = path.join(dir, TAGS_FILE);
  await writeFile(modelPath, buildTaggerModel(model));
  await writeFile(tagsCsvPath, buildTagsCsv(csvTags ?? params.tags));
  return { modelPath, tagsCsvPath };
}

/** Tags whose scores follow the image's colour (mean B/G/R 0–255) or are fixed, for end-to-end checks. */
export const FAKE_TAGS: readonly FakeTag[] = [
  { name: 'general', category: 9, bias: 0 },
  { name: 'sensitive', category: 9, bias: logit(0.1) },
  { name: 'questionable', category: 9, bias: logit(0.1) },
  // Above `general` (0.5) only for red images: sigmoid((R − 200) / 8).
  { name: 'explicit', category: 9, r: 1 / 8, bias: -200 / 8 },
  { name: 'red_theme', category: 0, r: 1 / 8, bias: -128 / 8 },
  { name: 'blue_theme', category: 0, b: 1 / 8, bias: -128 / 8 },
  { name: 'solo', category: 0, bias: logit(0.6) },
  { name: '^_^', category: 0, bias: logit(0.6) },
  { name: 'long_hair', category: 0, bias: logit(0.2) },
  { name: 'hatsune_miku', category: 4, bias: logit(0.9) },
  { name: 'kagamine_rin_(vocaloid)', category: 4, bias: logit(0.5) },
];

/** A solid-colour PNG. */
export function solidPng(params: { file: string; width: number; height: number; rgb: readonly [number, number, number] }): Promise<unknown> {
  const [r, g, b] = params.rgb;
  return sharp({ create: { width: params.width, height: params.height, channels: 3, background: { r, g, b } } }).png().toFile(params.file);
}

/**
 * Tag images with a WD14 tagger: preprocess each image (sd-scripts' way), run the model in batches on the
 * CPU, turn scores into tags. An image that cannot be decoded is reported and skipped, as sd-scripts
 * does; anything wrong with the model fails the whole call before the first image.
 */
import { z } from 'zod';
import { LorasmithError, isLorasmithError } from '../../core/errors.ts';
import { DEFAULT_IMAGE_LIMITS } from '../images/image-limits.ts';
import { formatTags } from '../captions/caption-text.ts';
import { loadOnnxRuntime } from './load-onnxruntime.ts';
import { loadTagger, type Tagger } from './load-tagger.ts';
import { selectTags, tagOptionsSchema } from './postprocess.ts';
import { preprocessImage } from './preprocess.ts';

export const taggingOptionsSchema = tagOptionsSchema.extend({
  /** Images per model run; a model exported with a fixed batch uses its own. */
  batchSize: z.number().int().min(1).max(64).default(4),
  /** onnxruntime intra-op threads; DEFAULT_THREADS when absent. */
  threads: z.number().int().min(1).max(256).optional(),
});

export type TaggingOptions = z.infer<typeof taggingOptionsSchema>;
export type TaggingOptionsInput = z.input<typeof taggingOptionsSchema>;

export interface TaggedImage {
  image: string;
  tags: string[];
  /** The tags as caption text, `", "`-separated. */
  caption: string;
}

export interface FailedImage {
  image: string;
  code: string;
  message: string;
}

export interface TagImagesResult {
  tagged: TaggedImage[];
  failed: FailedImage[];
}

export interface TagProgress {
  done: number;
  total: number;
  image: string;
}

export interface TagImagesParams {
  modelPath: string;
  tagsCsvPath: string;
  /** Image files, in the order results are wanted. */
  images: readonly string[];
  options?: TaggingOptionsInput;
  signal?: AbortSignal;
  /** Called once per image, tagged or failed. */
  onProgress?: (progress: TagProgress) => void;
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) {
    throw new LorasmithError({ code: 'cancelled', message: 'Tagging was cancelled; no caption was written.', cause: signal.reason });
  }
}

/** One model run over preprocessed images; a fixed-batch model gets zero images as padding. */
async function runBatch(tagger: Tagger, inputs: readonly Float32Array[]): Promise<Float32Array[]> {
  const ort = await loadOnnxRuntime();
  const pixels = tagger.size * tagger.size * 3;
  const rows = Math.max(inputs.length, tagger.fixedBatch ?? 0);
  const data = new Float32Array(rows * pixels);
  inputs.forEach((input, i) => data.set(input, i * pixels));
  const feeds = { [tagger.inputName]: new ort.Tensor('float32', data, [rows, tagger.size, tagger.size, 3]) };
  const output = (await tagger.session.run(feeds))[tagger.outputName];
  const width = tagger.labels.length;
  if (output === undefined || output.type !== 'float32' || output.data.length !== rows * width) {
    throw new LorasmithError({
      code: 'tagger-model-invalid',
      message: `The tagger's output ${tagger.outputName} has ${output?.data.length ?? 0} values for ${rows} images, expected ${width} per image.`,
      hint: 'Use model.onnx and selected_tags.csv from the same model repository and revision.',
    });
  }
  const scores = output.data as Float32Array;
  return inputs.map((_, i) => scores.slice(i * width, (i + 1) * width));
}

export async function tagImages(params: TagImagesParams): Promise<TagImagesResult> {
  const options: TaggingOptions = taggingOptionsSchema.parse(params.options ?? {});
  throwIfCancelled(params.signal);
  const tagger = await loadTagger({ modelPath: params.modelPath, tagsCsvPath: params.tagsCsvPath, threads: options.threads });
  const batch = tagger.fixedBatch ?? options.batchSize;
  const result: TagImagesResult = { tagged: [], failed: [] };
  let done = 0;
  const report = (image: string) => params.onProgress?.({ done: ++done, total: params.images.length, image });
  try {
    for (let start = 0; start < params.images.length; start += batch) {
      const ready: Array<{ image: string; input: Float32Array }> = [];
      for (const image of params.images.slice(start, start + batch)) {
        throwIfCancelled(params.signal);
        try {
          ready.push({ image, input: await preprocessImage({ input: image, size: tagger.size, maxPixels: DEFAULT_IMAGE_LIMITS.maxImagePixels, name: image }) });
        } catch (error) {
          if (!isLorasmithError(error)) throw error;
          result.failed.push({ image, code: error.code, message: error.message });
          report(image);
        }
      }
      if (ready.length === 0) continue;
      throwIfCancelled(params.signal);
      const scores = await runBatch(tagger, ready.map((entry) => entry.input));
      ready.forEach(({ image }, i) => {
        const tags = selectTags({ labels: tagger.labels, scores: scores[i] ?? new Float32Array(), options });
        result.tagged.push({ image, tags, caption: formatTags(tags) });
        report(image);
      });
    }
  } finally {
    await tagger.session.release();
  }
  throwIfCancelled(params.signal);
  return result;
}

/**
 * Open a WD14 tagger (`model.onnx` + `selected_tags.csv`, side by side in a library entry) on onnxruntime's CPU provider and
 * check, before any image is read, that the model is one: a single float32 NHWC input `[N, S, S, 3]`
 * and a first output `[N, T]` with T = the tag list's rows (reference §A2). The input side is read from
 * the model rather than assumed to be 448.
 */
import { availableParallelism } from 'node:os';
import { access } from 'node:fs/promises';
import type { InferenceSession } from 'onnxruntime-node';
import { LorasmithError } from '../../core/errors.ts';
import { loadOnnxRuntime } from './load-onnxruntime.ts';
import { readSelectedTags, type TagLabel } from './selected-tags.ts';

export const MODEL_FILE = 'model.onnx';
export const TAGS_FILE = 'selected_tags.csv';
/** Leave a core to the studio; more than 8 threads barely speeds a batch up and starves everything else. */
export const DEFAULT_THREADS = Math.max(1, Math.min(8, availableParallelism() - 1));

export interface Tagger {
  session: InferenceSession;
  labels: TagLabel[];
  inputName: string;
  outputName: string;
  /** The model's input side (H = W). */
  size: number;
  /** The batch the model was exported with, or undefined when its batch dimension is free. */
  fixedBatch: number | undefined;
}

function invalidModel(modelPath: string, what: string, cause?: unknown): LorasmithError {
  return new LorasmithError({
    code: 'tagger-model-invalid',
    message: `${modelPath} is not a usable WD14 tagger: ${what}.`,
    hint: 'Use model.onnx and selected_tags.csv from the same SmilingWolf wd-*-tagger repository and revision (onnxruntime ≥ 1.17 models).',
    ...(cause === undefined ? {} : { cause }),
  });
}

const fixed = (dim: number | string | undefined): number | undefined => (typeof dim === 'number' && dim > 0 ? dim : undefined);

function checkSignature(tagger: Omit<Tagger, 'size' | 'fixedBatch'>, modelPath: string): Pick<Tagger, 'size' | 'fixedBatch'> {
  const { session } = tagger;
  if (session.inputNames.length !== 1) throw invalidModel(modelPath, `it has ${session.inputNames.length} inputs, a tagger has one image input`);
  const input = session.inputMetadata[0];
  const output = session.outputMetadata[0];
  if (input?.isTensor !== true || output?.isTensor !== true) throw invalidModel(modelPath, 'its first input or output is not a tensor');
  const [batch, height, width, channels] = input.shape;
  if (input.type !== 'float32' || input.shape.length !== 4 || channels !== 3) {
    throw invalidModel(modelPath, `its input ${input.name} is ${input.type} [${input.shape.join(', ')}], expected float32 [N, H, W, 3] (NHWC)`);
  }
  const size = fixed(height);
  if (size === undefined || fixed(width) !== size) throw invalidModel(modelPath, `its input is ${height} × ${width}, expected a fixed square side such as 448`);
  const tags = output.shape[1];
  if (output.type !== 'float32' || output.shape.length !== 2 || (fixed(tags) !== undefined && tags !== tagger.labels.length)) {
    throw invalidModel(
      modelPath,
      `its output ${output.name} is ${output.type} [${output.shape.join(', ')}], expected float32 [N, ${tagger.labels.length}] to match the ${tagger.labels.length} rows of ${TAGS_FILE}`,
    );
  }
  return { size, fixedBatch: fixed(batch) };
}

export async function loadTagger(params: { modelPath: string; tagsCsvPath: string; threads?: number | undefined }): Promise<Tagger> {
  const { modelPath } = params;
  try {
    await access(modelPath);
  } catch {
    throw new LorasmithError({
      code: 'tagger-files-missing',
      message: `The tagger has no model: ${modelPath} does not exist.`,
      hint: `A tagger needs ${MODEL_FILE} and ${TAGS_FILE} side by side; import both from the model repository.`,
      status: 404,
    });
  }
  const labels = await readSelectedTags({ file: params.tagsCsvPath });
  const ort = await loadOnnxRuntime();
  let session: InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath, {
      executionProviders: ['cpu'],
      intraOpNumThreads: params.threads ?? DEFAULT_THREADS,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  } catch (error) {
    throw invalidModel(modelPath, `onnxruntime could not load it (${error instanceof Error ? error.message : String(error)})`, error);
  }
  const base = { session, labels, inputName: session.inputNames[0] ?? '', outputName: session.outputNames[0] ?? '' };
  try {
    return { ...base, ...checkSignature(base, modelPath) };
  } catch (error) {
    await session.release();
    throw error;
  }
}

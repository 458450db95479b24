/**
 * Where a FluxFlow run's files live (DESIGN.md §3): control files in `runs/<id>/`, written by the server and
 * the shim only and bound read-only; everything the engine writes in `runs/<id>/work/`, its cwd.
 */
import path from 'node:path';

export interface FluxflowRunLayout {
  runDir: string;
  /** The engine's cwd and the only folder it may write. */
  workDir: string;
  /** `--config`: written 0600 (a named dataset could carry a token in FluxFlow's format, §1.2). */
  pipelineFile: string;
  /** One captions file per lorasmith dataset the run uses (`<name>.tsv`). */
  captionsDir: string;
  /** `output.output_path`: checkpoints, samples, `graph/` metrics, resume state. Fresh per run. */
  outputDir: string;
  /** `graph/training_metrics_<step>.jsonl` (§1.4). */
  metricsDir: string;
  /** `./_cache` relative to the cwd, where the trainer looks for its tokenizer: a link to the engine cache. */
  cacheLink: string;
  /** The engine's `HOME` and `HF_HOME`, inside `work/` (PROC-R03). */
  homeDir: string;
  hfHomeDir: string;
}

/** `work/output`: the output folder, relative to the engine's cwd. */
export const FLUXFLOW_OUTPUT_DIR = 'output';
export const FLUXFLOW_CHECKPOINT_FILE = 'flxflow_final.safetensors';
export const FLUXFLOW_TEXT_ENCODER_FILE = 'text_encoder.safetensors';
export const FLUXFLOW_DISCRIMINATOR_FILE = 'D_img.safetensors';
/** Present with `mode: pipeline` in an output folder, it makes FluxFlow resume from the saved position (§1.5). */
export const FLUXFLOW_STATE_FILE = 'training_state.json';

export function fluxflowRunLayout(runDir: string): FluxflowRunLayout {
  if (!path.isAbsolute(runDir)) throw new Error(`run directory must be absolute: ${runDir}`);
  const workDir = path.join(runDir, 'work');
  const outputDir = path.join(workDir, FLUXFLOW_OUTPUT_DIR);
  return {
    runDir,
    workDir,
    pipelineFile: path.join(runDir, 'pipeline.yaml'),
    captionsDir: path.join(runDir, 'captions'),
    outputDir,
    metricsDir: path.join(outputDir, 'graph'),
    cacheLink: path.join(workDir, '_cache'),
    homeDir: path.join(workDir, 'home'),
    hfHomeDir: path.join(workDir, 'hf'),
  };
}

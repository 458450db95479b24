/**
 * Where a kohya run's files live (DESIGN.md §3): control files in `runs/<id>/`, written by the server and
 * the shim only; everything the engine writes in `runs/<id>/work/`.
 */
import path from 'node:path';

export interface KohyaRunLayout {
  runDir: string;
  /** The engine's cwd and the only folder it may write. */
  workDir: string;
  /** `--config_file` */
  configFile: string;
  /** `--dataset_config` */
  datasetFile: string;
  /** `--sample_prompts` (when the run has sample prompts) */
  samplePromptsFile: string;
  /** `output_dir`: checkpoints, `sample/`, state folders. */
  outputDir: string;
  /** `logging_dir`: TensorBoard. */
  loggingDir: string;
  /** Per-run folders of absolute symlinks to the dataset images, one per subset. */
  imagesDir: string;
  /** The engine's `HOME` and `HF_HOME`, inside `work/` (PROC-R03). */
  homeDir: string;
  hfHomeDir: string;
}

export function kohyaRunLayout(runDir: string): KohyaRunLayout {
  if (!path.isAbsolute(runDir)) throw new Error(`run directory must be absolute: ${runDir}`);
  const workDir = path.join(runDir, 'work');
  return {
    runDir,
    workDir,
    configFile: path.join(runDir, 'run.toml'),
    datasetFile: path.join(runDir, 'dataset.toml'),
    samplePromptsFile: path.join(runDir, 'sample-prompts.txt'),
    outputDir: path.join(workDir, 'output'),
    loggingDir: path.join(workDir, 'logs'),
    imagesDir: path.join(workDir, 'images'),
    homeDir: path.join(workDir, 'home'),
    hfHomeDir: path.join(workDir, 'hf'),
  };
}

/**
 * The link folder of one subset: `work/images/<dataset index>/<subset name>`. Its basename is the subset
 * name, which sd-scripts records in `ss_datasets` / `ss_tag_frequency` / `ss_dataset_dirs`; the dataset
 * index keeps two datasets' same-named subsets apart (one dataset may not name two subsets alike).
 */
export function subsetLinkDir(layout: Pick<KohyaRunLayout, 'imagesDir'>, datasetIndex: number, subsetName: string): string {
  return path.join(layout.imagesDir, String(datasetIndex), subsetName);
}

/**
 * lorasmith's kohya run config back to a plain sd-scripts `--config_file` TOML (flat keys). The option mapping is
 * the engine adapter's own (`mapKohyaRunDetailed`), so an export says what a lorasmith run would pass; the dataset
 * `[general]` keys are folded into the flat namespace under their argparse names (kohya-sd-scripts.md §2 lookup
 * order), which is also what `importKohyaToml` reads them back from.
 *
 * Datasets: given the run's datasets resolved to their folders, the export also renders sd-scripts'
 * `--dataset_config` with the adapter's own builder (`renderDatasetToml`, `image_dir` = each subset's folder, with
 * its repeats, class tokens and `is_reg`), and the `--config_file` names it as `dataset_config`; sd-scripts then
 * ignores `train_data_dir` / `reg_data_dir` (§1.3), so they are left out. Without them (a config imported from
 * sd-scripts' own folders) the first dataset / regularisation dataset become `train_data_dir` / `reg_data_dir`,
 * and what a `--config_file` cannot hold (more datasets, subset overrides) is written as comments, as are the
 * sample prompts either way.
 */
import { mapKohyaRunDetailed, type ResolvedRunDataset } from '../engines/kohya/map-run-config.ts';
import { kohyaArg } from '../engines/kohya/kohya-args.ts';
import { type TomlScalar, type TomlValue, formatTomlEntries, tomlArray, tomlBool, tomlFloat, tomlInt, tomlStr } from '../engines/kohya/toml-format.ts';
import type { KohyaArgValue, KohyaTrainerScript } from '../engines/kohya/types.ts';
import { renderDatasetToml } from '../engines/kohya/write-dataset-toml.ts';
import type { KohyaRunConfig } from '../schema/index.ts';
import type { OperatorPathRole } from './types.ts';

export interface ExportKohyaTomlOptions {
  /** The path written for a library id or dataset name; the id itself by default. */
  pathFor?: (idOrName: string, role: OperatorPathRole) => string;
  /**
   * The run's datasets resolved to their folders (same order as `config.datasets`), and the absolute path the
   * dataset config will be written to: the export then renders it too (`KohyaExport.datasetToml`).
   */
  datasetConfig?: { datasets: ResolvedRunDataset[]; file: string };
}

export interface KohyaExport {
  script: KohyaTrainerScript;
  /** The `--config_file`. */
  configToml: string;
  /** The `--dataset_config` the config file names, when `datasetConfig` was given. */
  datasetToml?: string;
}

/** The header the engine adapter writes too; `importKohyaToml` reads the script back from it. */
export const LORASMITH_TOML_HEADER = /^# Written by lorasmith for sd-scripts ([a-z0-9_]+\.py)/m;

/** Float-typed keys sd-scripts type-checks as floats wherever they appear (kohya-sd-scripts.md §1.3). */
const FLOAT_DATASET_KEYS = new Set(['caption_dropout_rate', 'caption_tag_dropout_rate']);

function typed(script: string, key: string, value: KohyaArgValue): TomlValue | undefined {
  const spec = kohyaArg(script, key);
  const scalar = (item: string | number | boolean): TomlScalar => {
    if (typeof item === 'boolean') return tomlBool(item);
    if (typeof item === 'string') return tomlStr(item);
    if (spec?.type === 'float' || FLOAT_DATASET_KEYS.has(key)) return tomlFloat(item);
    if (spec?.type === 'int') return tomlInt(item);
    return Number.isInteger(item) ? tomlInt(item) : tomlFloat(item);
  };
  if (Array.isArray(value)) return tomlArray((value as Array<string | number>).map(scalar));
  if (typeof value === 'boolean' && value === false && spec?.type === 'bool(store_true)') return undefined;
  return scalar(value);
}

/** A dataset as `train_data_dir` / `reg_data_dir` name it: the folder only, sd-scripts reads its subsets from the names. */
function folderOnlyDatasets(config: KohyaRunConfig, pathFor: NonNullable<ExportKohyaTomlOptions['pathFor']>): ResolvedRunDataset[] {
  const fake = (name: string, dir: string): ResolvedRunDataset['subsets'][number] => ({ name, dir, repeats: 1, classTokens: '', isReg: false, captionExtension: config.captions.extension, files: [] });
  return config.datasets.map((entry) => ({
    name: entry.dataset,
    dir: pathFor(entry.dataset, 'train-data-dir'),
    // The adapter wants one subset per dataset; its folder is not written to a --config_file.
    subsets: [fake('images', '/export/images')],
    regularisation: entry.regularisation.map((reg) => ({ name: reg.dataset, dir: pathFor(reg.dataset, 'reg-data-dir'), subsets: [] })),
  }));
}

export function exportKohyaToml(config: KohyaRunConfig, options: ExportKohyaTomlOptions = {}): KohyaExport {
  const pathFor = options.pathFor ?? ((id: string): string => id);
  const { model, network } = config;
  const datasets = options.datasetConfig?.datasets ?? folderOnlyDatasets(config, pathFor);
  const mapped = mapKohyaRunDetailed({
    config,
    resolved: {
      models: {
        base: pathFor(model.base, 'model'),
        ...(model.vae === undefined ? {} : { vae: pathFor(model.vae, 'vae') }),
        ...(model.clipL === undefined ? {} : { clipL: pathFor(model.clipL, 'text-encoder') }),
        ...(model.clipG === undefined ? {} : { clipG: pathFor(model.clipG, 'text-encoder') }),
        ...(model.t5xxl === undefined ? {} : { t5xxl: pathFor(model.t5xxl, 'text-encoder') }),
        ...(model.gemma2 === undefined ? {} : { gemma2: pathFor(model.gemma2, 'text-encoder') }),
        ...(network.initialWeights === undefined ? {} : { initialWeights: pathFor(network.initialWeights, 'network-weights') }),
      },
      datasets,
    },
  });
  const { script, args, general } = mapped.input;
  const flat: Record<string, KohyaArgValue> = { ...args };
  for (const [key, value] of Object.entries(general ?? {}) as Array<[string, unknown]>) {
    if (value === undefined) continue;
    if (key === 'resolution') flat.resolution = Array.isArray(value) ? value.join(',') : String(value);
    else if (key === 'batch_size') flat.train_batch_size = value as number;
    else flat[key] = value as KohyaArgValue;
  }
  // The launch's own dataset TOML, but naming the subset folders: an export has no run folder to link into.
  const datasetToml = options.datasetConfig === undefined ? undefined : renderDatasetToml({ script, ...(general === undefined ? {} : { general }), datasets: mapped.input.datasets, args }, 'sources').text;
  if (options.datasetConfig !== undefined) flat.dataset_config = options.datasetConfig.file;
  else {
    const first = datasets[0];
    if (first !== undefined) flat.train_data_dir = first.dir;
    const firstReg = first?.regularisation[0];
    if (firstReg !== undefined) flat.reg_data_dir = firstReg.dir;
  }

  const entries: Array<readonly [string, TomlValue]> = [];
  for (const key of Object.keys(flat).sort()) {
    const value = flat[key];
    if (value === undefined) continue;
    const toml = typed(script, key, value);
    if (toml !== undefined) entries.push([key, toml]);
  }

  const comments: string[] = [];
  // Without a dataset config only the first dataset and regularisation folder are written; the rest is said here.
  if (datasetToml === undefined) {
    config.datasets.forEach((entry, index) => {
      if (index > 0) comments.push(`# datasets[${index}] ${entry.dataset}: needs a --dataset_config; not expressible in a --config_file.`);
      for (const subset of entry.subsets) comments.push(`# datasets[${index}] subset ${JSON.stringify(subset.name)} override ${JSON.stringify(subset)}: a dataset TOML setting.`);
      entry.regularisation.slice(index === 0 ? 1 : 0).forEach((reg) => comments.push(`# datasets[${index}] regularisation ${reg.dataset}: needs a --dataset_config.`));
    });
  }
  if (config.sampling.prompts.length > 0) comments.push(`# ${config.sampling.prompts.length} sample prompt(s): lorasmith writes them to a prompt file passed as sample_prompts.`);
  for (const skipped of mapped.skipped) comments.push(`# not written: ${skipped.option} (${skipped.reason})`);

  const configToml = `# Written by lorasmith for sd-scripts ${script}; flat keys, read with --config_file.\n${formatTomlEntries(entries)}${comments.map((line) => `${line.replace(/[\r\n]/g, ' ')}\n`).join('')}`;
  return { script, configToml, ...(datasetToml === undefined ? {} : { datasetToml }) };
}

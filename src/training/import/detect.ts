/** Which tool wrote a config file (tagging-and-config-import.md B0: "without --from the format is detected"). */
import { RUN_SCHEMA_ID } from '../schema/index.ts';
import { flattenSdScriptsToml, parseTomlText } from './kohya-toml.ts';
import type { DetectedFormat } from './types.ts';
import { type Dict, isDict } from './values.ts';

/** Keys only the kohya_ss GUI writes (B1). */
const GUI_KEYS = ['LoRA_type', 'max_resolution', 'optimizer', 'additional_parameters', 'noise_offset_type', 'sdxl_no_half_vae', 'model_list', 'lr_warmup', 'flux1_checkbox', 'sd3_checkbox'];
/** Keys only Ktiseos-Nyx presets carry (B3). */
const KTISEOS_KEYS = ['lora_type', 'cross_attention', 'lr_scheduler_number', 'lr_warmup_ratio', 'min_snr_gamma_enabled', 'vae_path', 'continue_from_lora', 'resume_from_state', 'multinoise'];
/** sd-scripts arguments common enough to call a flat TOML an sd-scripts config. */
const SD_SCRIPTS_KEYS = [
  'pretrained_model_name_or_path',
  'network_module',
  'network_dim',
  'learning_rate',
  'optimizer_type',
  'output_dir',
  'train_data_dir',
  'dataset_config',
  'max_train_steps',
  'max_train_epochs',
  'mixed_precision',
  'resolution',
];
const LETS_SECTIONS = ['general_args', 'network_args', 'optimizer_args', 'saving_args', 'bucket_args', 'noise_args', 'sample_args', 'logging_args', 'flux_args', 'extra_args'];

function countKeys(object: Dict, keys: readonly string[]): number {
  return keys.filter((key) => key in object).length;
}

function detectJson(value: unknown): DetectedFormat | null {
  if (!isDict(value)) return null;
  if (value.schema === RUN_SCHEMA_ID) return 'lorasmith';
  const training = isDict(value.config) ? value.config : value;
  if ('is_builtin' in value || 'training_type' in value || countKeys(training, KTISEOS_KEYS) > 0) return 'ktiseos';
  if (countKeys(value, GUI_KEYS) > 0) return 'kohya-gui';
  if (countKeys(value, SD_SCRIPTS_KEYS) > 0) return 'kohya-gui';
  return null;
}

function detectToml(table: Dict): DetectedFormat | null {
  if (table.schema === RUN_SCHEMA_ID) return 'lorasmith';
  const sections = Object.entries(table).filter(([, body]) => isDict(body));
  if (Array.isArray(table.subsets) && isDict(table.train_mode)) return 'let';
  if (sections.some(([name, body]) => LETS_SECTIONS.includes(name) && isDict(body) && (isDict(body.args) || isDict(body.dataset_args)))) return 'let';
  // The GUI's own settings file (`config.toml`, v23.0.12+) holds UI defaults under [model], [folders], [basic]: not a training config.
  if (isDict(table.folders) && isDict(table.basic)) return null;
  return countKeys(flattenSdScriptsToml(table), SD_SCRIPTS_KEYS) > 0 ? 'kohya' : null;
}

/** The format of a config file from its text and name; null when it is none of the import sources. */
export function detectConfigFormat(text: string, fileName: string): DetectedFormat | null {
  const lower = fileName.toLowerCase();
  const tryJson = (): DetectedFormat | null => {
    try {
      return detectJson(JSON.parse(text));
    } catch {
      return null;
    }
  };
  const tryToml = (): DetectedFormat | null => {
    const parsed = parseTomlText(text);
    return parsed.ok ? detectToml(parsed.table) : null;
  };
  if (lower.endsWith('.json')) return tryJson();
  if (lower.endsWith('.toml')) return tryToml();
  return text.trimStart().startsWith('{') ? tryJson() ?? tryToml() : tryToml() ?? tryJson();
}

/**
 * FLUXFLOW ENGINE DOUBLE — `fluxflow-train`'s command line (fluxflow.md §1.1, scripts/train.py:1402-1606):
 * its 58 options with argparse's behaviour — `--opt value` and `--opt=value`, unique prefixes (allow_abbrev),
 * `nargs="+"` options keeping only the last occurrence (§5.4), type errors and unknown options ending the
 * process with status 2 after the usage line — and which options were given in full (`--dest`), the only form
 * FluxFlow treats as overriding the YAML (§1.2, §5.6).
 */

export type OptionType = 'str' | 'int' | 'float' | 'flag' | 'str+' | 'int+' | 'size+';

export interface OptionSpec {
  /** The `dest` (`--validate-pipeline` → `validate_pipeline`). */
  dest: string;
  flag: string;
  type: OptionType;
}

const STR = ['data_path', 'captions_file', 'fixed_prompt_prefix', 'webdataset_token', 'webdataset_url', 'webdataset_image_key', 'webdataset_label_key', 'webdataset_caption_key', 'tt2m_token', 'model_checkpoint', 'pretrained_bert_model', 'optim_sched_config', 'output_path', 'tokenizer_name'];
const INT = [
  'webdataset_size',
  'webdataset_samples_per_shard',
  'vae_dim',
  'text_embedding_dim',
  'feature_maps_dim',
  'feature_maps_dim_disc',
  'n_epochs',
  'batch_size',
  'workers',
  'training_steps',
  'kl_warmup_steps',
  'log_interval',
  'checkpoint_save_interval',
  'samples_per_checkpoint',
  'img_size',
  'channels',
  'dataloader_max_retries',
];
const FLOAT = ['lr', 'lr_min', 'initial_clipping_norm', 'kl_beta', 'kl_free_bits', 'dataloader_retry_delay', 'lambda_adv', 'lambda_lpips'];
const FLAG = ['use_webdataset', 'use_tt2m', 'use_gradient_checkpointing', 'preserve_lr', 'use_fp16', 'train_vae', 'gan_training', 'use_lpips', 'train_spade', 'train_diff', 'train_diff_full', 'no_samples', 'generate_diagrams'];

export const FLUXFLOW_OPTIONS: readonly OptionSpec[] = [
  { dest: 'config', flag: '--config', type: 'str' },
  { dest: 'validate_pipeline', flag: '--validate-pipeline', type: 'flag' },
  ...STR.map((dest) => ({ dest, flag: `--${dest}`, type: 'str' as const })),
  ...INT.map((dest) => ({ dest, flag: `--${dest}`, type: 'int' as const })),
  ...FLOAT.map((dest) => ({ dest, flag: `--${dest}`, type: 'float' as const })),
  ...FLAG.map((dest) => ({ dest, flag: `--${dest}`, type: 'flag' as const })),
  { dest: 'test_image_address', flag: '--test_image_address', type: 'str+' },
  { dest: 'sample_captions', flag: '--sample_captions', type: 'str+' },
  { dest: 'sample_sizes', flag: '--sample_sizes', type: 'size+' },
  { dest: 'reduced_min_sizes', flag: '--reduced_min_sizes', type: 'int+' },
];

export type CliValue = string | number | bigint | boolean | Array<string | bigint | [bigint, bigint]>;

export interface ParsedCli {
  values: Map<string, CliValue>;
  /** Dests given as the exact `--dest` token: FluxFlow's own override test (`f"--{dest}" in sys.argv`). */
  overrides: Set<string>;
  help: boolean;
}

export class ArgparseExit extends Error {
  readonly status: number;
  readonly stderr: string;
  constructor(status: number, stderr: string) {
    super(stderr);
    this.status = status;
    this.stderr = stderr;
  }
}

export const PROG = 'fluxflow-train';

export function usage(): string {
  return `usage: ${PROG} [-h] [--config CONFIG] [--validate-pipeline] [--data_path DATA_PATH] [--captions_file CAPTIONS_FILE] ...\n`;
}

function fail(message: string): never {
  throw new ArgparseExit(2, `${usage()}${PROG}: error: ${message}\n`);
}

function lookup(token: string): OptionSpec {
  const exact = FLUXFLOW_OPTIONS.find((option) => option.flag === token);
  if (exact !== undefined) return exact;
  const prefixed = FLUXFLOW_OPTIONS.filter((option) => option.flag.startsWith(token));
  if (prefixed.length === 1 && prefixed[0] !== undefined) return prefixed[0];
  if (prefixed.length > 1) fail(`ambiguous option: ${token} could match ${prefixed.map((option) => option.flag).join(', ')}`);
  throw new Error(`unknown:${token}`);
}

function convert(option: OptionSpec, raw: string): string | number | bigint | [bigint, bigint] {
  const invalid = (kind: string): never => fail(`argument ${option.flag}: invalid ${kind} value: '${raw}'`);
  switch (option.type) {
    case 'int':
    case 'int+':
      return /^[-+]?\d+$/.test(raw.trim()) ? BigInt(raw.trim()) : invalid('int');
    case 'float': {
      const value = Number(raw);
      return raw.trim() !== '' && !Number.isNaN(value) ? value : invalid('float');
    }
    case 'size+': {
      const pair = /^(\d+)x(\d+)$/.exec(raw);
      if (pair !== null) return [BigInt(pair[1] ?? '0'), BigInt(pair[2] ?? '0')];
      return /^\d+$/.test(raw) ? BigInt(raw) : invalid('parse_size');
    }
    default:
      return raw;
  }
}

/** argparse over `fluxflow-train`'s options. Throws `ArgparseExit` (status 2) the way argparse exits. */
export function parseCli(argv: readonly string[]): ParsedCli {
  const values = new Map<string, CliValue>();
  const overrides = new Set<string>();
  const unknown: string[] = [];
  let help = false;
  for (let index = 0; index < argv.length; index += 1) {
    const token = argv[index] ?? '';
    if (token === '-h' || token === '--help') {
      help = true;
      continue;
    }
    if (!token.startsWith('--')) {
      unknown.push(token);
      continue;
    }
    const [name = '', inline] = token.includes('=') ? [token.slice(0, token.indexOf('=')), token.slice(token.indexOf('=') + 1)] : [token, undefined];
    let option: OptionSpec;
    try {
      option = lookup(name);
    } catch (error) {
      if (error instanceof ArgparseExit) throw error;
      unknown.push(token);
      continue;
    }
    if (token === `--${option.dest}`) overrides.add(option.dest);
    if (option.type === 'flag') {
      if (inline !== undefined) fail(`argument ${option.flag}: ignored explicit argument '${inline}'`);
      values.set(option.dest, true);
      continue;
    }
    if (option.type.endsWith('+')) {
      const items: string[] = inline === undefined ? [] : [inline];
      while (inline === undefined && index + 1 < argv.length && !(argv[index + 1] ?? '').startsWith('--')) items.push(argv[++index] ?? '');
      if (items.length === 0) fail(`argument ${option.flag}: expected at least one argument`);
      // The plain store action: a repeated nargs="+" option keeps only its last list (§5.4).
      values.set(option.dest, items.map((item) => convert(option, item)) as CliValue);
      continue;
    }
    const raw = inline ?? argv[++index];
    if (raw === undefined || (inline === undefined && raw.startsWith('--'))) fail(`argument ${option.flag}: expected one argument`);
    values.set(option.dest, convert(option, raw) as CliValue);
  }
  if (unknown.length > 0) fail(`unrecognized arguments: ${unknown.join(' ')}`);
  return { values, overrides, help };
}

/**
 * The sample prompts file for `--sample_prompts` (kohya-sd-scripts.md §3.6).
 *
 * `.txt`: one prompt per line, options after ` --` (`--n` negative prompt, `--w` / `--h` size, `--d` seed,
 * `--s` steps, `--l` CFG scale, `--g` guidance, `--ss` sampler). sd-scripts splits each line on every
 * " --" and matches *every* piece, the prompt included, against the option patterns, so a prompt cannot be
 * escaped: one that contains " --", a line break, or starts like an option ("w 512 …", "n …") would change
 * what is generated. Each line is therefore parsed back with a transcription of `line_to_prompt_dict` and
 * refused unless it reads back exactly as meant (PROC-A03). `.json` (a list of dicts) needs no such care and
 * is offered as the alternative.
 */
import { LorasmithError } from '../../../core/errors.ts';
import { kohyaArg } from './kohya-args.ts';
import type { KohyaSamplePrompt, KohyaTrainerScript } from './types.ts';

export type SamplePromptsFormat = 'txt' | 'json';

export interface KohyaSamplePromptsFile {
  fileName: 'sample-prompts.txt' | 'sample-prompts.json';
  text: string;
}

/** What sd-scripts reads from one prompt, with its own key names. */
export type SamplePromptDict = Record<string, string | number>;

function invalid(index: number, reason: string, hint?: string): LorasmithError {
  return new LorasmithError({
    code: 'kohya-sample-prompt-invalid',
    message: `Sample prompt ${index + 1} cannot be written: ${reason}.`,
    hint: hint ?? 'Edit the sample prompt.',
    exitCode: 2,
    status: 400,
    details: { index },
  });
}

// Control characters (line breaks among them), and the Unicode line/paragraph separators.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function checkText(index: number, what: string, text: string, allowEmpty = false): string {
  if (typeof text !== 'string') throw invalid(index, `${what} must be text`);
  if (!allowEmpty && text.trim().length === 0) throw invalid(index, `${what} is empty`);
  if (FORBIDDEN.test(text)) throw invalid(index, `${what} contains a line break or another control character`);
  if (text !== text.trim()) throw invalid(index, `${what} starts or ends with white space`, 'Remove the spaces around it; sd-scripts strips them.');
  return text;
}

function intIn(index: number, what: string, value: number, min: number, max: number, multiple = 1): number {
  if (!Number.isSafeInteger(value) || value < min || value > max || value % multiple !== 0) {
    throw invalid(index, `${what} must be a whole number from ${min} to ${max}${multiple > 1 ? `, a multiple of ${multiple}` : ''}; got ${value}`);
  }
  return value;
}

/** `[\d.]+` only: no sign, no exponent. */
function decimal(index: number, what: string, value: number): string {
  if (!Number.isFinite(value) || value < 0) throw invalid(index, `${what} must be 0 or more; got ${value}`);
  const text = String(value);
  return text.includes('e') ? value.toFixed(20).replace(/0+$/, '').replace(/\.$/, '.0') : text;
}

function samplerChoices(script: KohyaTrainerScript): ReadonlyArray<string> {
  const spec = kohyaArg(script, 'sample_sampler');
  return (spec?.choices ?? []).filter((choice): choice is string => typeof choice === 'string');
}

/** The dict sd-scripts should end up with for `prompt` (the same keys `line_to_prompt_dict` uses). */
function intended(index: number, prompt: KohyaSamplePrompt, script: KohyaTrainerScript): SamplePromptDict {
  const dict: SamplePromptDict = { prompt: checkText(index, 'the prompt', prompt.prompt) };
  if (prompt.negative_prompt !== undefined && prompt.negative_prompt.trim() !== '') dict.negative_prompt = checkText(index, 'the negative prompt', prompt.negative_prompt);
  if (prompt.width !== undefined) dict.width = intIn(index, 'width', prompt.width, 64, 8192, 8);
  if (prompt.height !== undefined) dict.height = intIn(index, 'height', prompt.height, 64, 8192, 8);
  if (prompt.seed !== undefined) dict.seed = intIn(index, 'seed', prompt.seed, 0, Number.MAX_SAFE_INTEGER);
  if (prompt.sample_steps !== undefined) dict.sample_steps = intIn(index, 'sample_steps', prompt.sample_steps, 1, 1000);
  if (prompt.scale !== undefined) dict.scale = Number(decimal(index, 'scale', prompt.scale));
  if (prompt.guidance_scale !== undefined) dict.guidance_scale = Number(decimal(index, 'guidance_scale', prompt.guidance_scale));
  if (prompt.sample_sampler !== undefined) {
    const choices = samplerChoices(script);
    if (!choices.includes(prompt.sample_sampler)) throw invalid(index, `sampler ${JSON.stringify(prompt.sample_sampler)} is not one of ${choices.join(', ')}`);
    dict.sample_sampler = prompt.sample_sampler;
  }
  return dict;
}

function toLine(index: number, dict: SamplePromptDict): string {
  const parts = [String(dict.prompt)];
  if (dict.negative_prompt !== undefined) parts.push(`--n ${dict.negative_prompt}`);
  if (dict.width !== undefined) parts.push(`--w ${dict.width}`);
  if (dict.height !== undefined) parts.push(`--h ${dict.height}`);
  if (dict.seed !== undefined) parts.push(`--d ${dict.seed}`);
  if (dict.sample_steps !== undefined) parts.push(`--s ${dict.sample_steps}`);
  if (dict.scale !== undefined) parts.push(`--l ${decimal(index, 'scale', Number(dict.scale))}`);
  if (dict.guidance_scale !== undefined) parts.push(`--g ${decimal(index, 'guidance_scale', Number(dict.guidance_scale))}`);
  if (dict.sample_sampler !== undefined) parts.push(`--ss ${dict.sample_sampler}`);
  return parts.join(' ');
}

// Python 3 `\d` matches any Unicode decimal digit and `re.IGNORECASE` folds case the Unicode way: `iu` + \p{Nd}.
const OPTION_PATTERNS: ReadonlyArray<readonly [RegExp, string, (text: string) => string | number]> = [
  [/^w (\p{Nd}+)/iu, 'width', (t) => pyInt(t)],
  [/^h (\p{Nd}+)/iu, 'height', (t) => pyInt(t)],
  [/^d (\p{Nd}+)/iu, 'seed', (t) => pyInt(t)],
  [/^s (\p{Nd}+)/iu, 'sample_steps', (t) => Math.max(1, Math.min(1000, pyInt(t)))],
  [/^l ([\p{Nd}.]+)/iu, 'scale', (t) => pyFloat(t)],
  [/^g ([\p{Nd}.]+)/iu, 'guidance_scale', (t) => pyFloat(t)],
  [/^n (.+)/iu, 'negative_prompt', (t) => t],
  [/^ss (.+)/iu, 'sample_sampler', (t) => t],
  [/^cn (.+)/iu, 'controlnet_image', (t) => t],
  [/^ctr (.+)/iu, 'cfg_trunc_ratio', (t) => pyFloat(t)],
  [/^rcfg (.+)/iu, 'renorm_cfg', (t) => pyFloat(t)],
  [/^fs (.+)/iu, 'flow_shift', (t) => t],
];

/**
 * Python's int()/float() also read non-ASCII digits; the exact value does not matter here, only that a
 * match happened (any match the writer did not intend makes the line read back differently and refused).
 */
function pyInt(text: string): number {
  return /^[0-9]+$/.test(text) ? Number.parseInt(text, 10) : Number.NaN;
}
/** Python float(): a malformed value raises ValueError, which sd-scripts logs and skips. */
function pyFloat(text: string): number {
  const trimmed = text.trim();
  if (/^[+-]?(\p{Nd}+\.?\p{Nd}*|\.\p{Nd}+)(e[+-]?\p{Nd}+)?$/iu.test(trimmed)) return /^[0-9.eE+-]+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  throw new RangeError(`could not convert string to float: ${text}`);
}

/** Transcription of sd-scripts' `train_util.line_to_prompt_dict` (one stripped, non-comment line). */
export function parseSamplePromptLine(line: string): SamplePromptDict {
  const pieces = line.split(' --');
  const dict: SamplePromptDict = { prompt: pieces[0] ?? '' };
  for (const piece of pieces) {
    for (const [pattern, key, convert] of OPTION_PATTERNS) {
      const m = pattern.exec(piece);
      if (m === null) continue;
      try {
        dict[key] = convert(m[1] ?? '');
      } catch {
        // sd-scripts logs "Exception in parsing" and goes on with the next piece.
      }
      break;
    }
  }
  return dict;
}

/** Transcription of `load_prompts` for a `.txt` file: the dicts sd-scripts will sample with. */
export function readSamplePromptsTxt(text: string): SamplePromptDict[] {
  return text
    .split(/\r\n|\r|\n/)
    .filter((line) => line.trim().length > 0 && !line.startsWith('#'))
    .map((line) => parseSamplePromptLine(line.trim()));
}

function sameDict(a: SamplePromptDict, b: SamplePromptDict): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}

/**
 * Render the prompts. `txt` (the default) refuses a prompt whose line would not read back as meant;
 * `json` writes sd-scripts' list-of-dicts form.
 */
export function renderSamplePrompts(prompts: readonly KohyaSamplePrompt[], script: KohyaTrainerScript, format: SamplePromptsFormat = 'txt'): KohyaSamplePromptsFile {
  if (prompts.length === 0) throw invalid(0, 'there are no prompts', 'Leave sample prompts out to turn sampling off.');
  const dicts = prompts.map((prompt, index) => intended(index, prompt, script));
  if (format === 'json') {
    return { fileName: 'sample-prompts.json', text: `${JSON.stringify(dicts.map((d) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, typeof v === 'string' ? v.toWellFormed() : v]))), null, 2)}\n` };
  }
  const lines = dicts.map((dict, index) => {
    const prompt = String(dict.prompt);
    if (prompt.startsWith('#')) throw invalid(index, 'a prompt starting with "#" is read as a comment', 'Start the prompt with another character.');
    for (const [field, value] of [['the prompt', prompt], ['the negative prompt', dict.negative_prompt]] as const) {
      if (typeof value === 'string' && value.includes(' --')) throw invalid(index, `${field} contains " --", which sd-scripts reads as the start of an option`, 'Remove the " --", or write the prompts as JSON.');
    }
    const line = toLine(index, dict);
    const readBack = parseSamplePromptLine(line);
    if (!sameDict(readBack, dict)) {
      const changed = [...new Set([...Object.keys(readBack), ...Object.keys(dict)])].filter((key) => readBack[key] !== dict[key]);
      throw invalid(index, `sd-scripts would read it differently (${changed.join(', ')}): the prompt starts like an option such as "w 512" or "n …"`, 'Reword the start of the prompt, or write the prompts as JSON.');
    }
    return line;
  });
  return { fileName: 'sample-prompts.txt', text: `${lines.join('\n')}\n` };
}

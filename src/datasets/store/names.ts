/**
 * Dataset and subset names. Both become folder names and appear in URLs, CLI arguments and kohya's
 * `ss_datasets` metadata, so on top of the file-name rules (ARC-R07) they keep to a conservative charset:
 * datasets to ASCII letters, digits, `.`, `_` and `-`; subsets also to letters of any script, spaces and
 * parentheses, since kohya-style folders read `10_sks dog`. Neither starts with a dot (`.lorasmith/` and
 * the staging folder are dot-names) or a dash (it would read as a CLI flag).
 */
import { LorasmithError, isLorasmithError } from '../../core/errors.ts';
import { sanitizeFileName } from '../../core/file-names.ts';

const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SUBSET_NAME = /^[\p{L}\p{N}][\p{L}\p{N}\p{M} ._()-]{0,99}$/u;

function nameRefused(kind: 'dataset' | 'subset', name: string, reason: string): LorasmithError {
  return new LorasmithError({
    code: `${kind}-name-invalid`,
    message: `The ${kind} name ${JSON.stringify(name.slice(0, 120))} is not allowed: ${reason}.`,
    hint:
      kind === 'dataset'
        ? 'Use 1–64 ASCII letters, digits, ".", "_" or "-", starting with a letter or digit, e.g. "my-dog-v2".'
        : 'Use up to 100 letters, digits, spaces, ".", "_", "-" or parentheses, starting with a letter or digit, e.g. "10_sks dog".',
    status: 400,
  });
}

function checkName(kind: 'dataset' | 'subset', name: string, pattern: RegExp): string {
  if (!pattern.test(name)) throw nameRefused(kind, name, 'it uses characters outside the allowed set or is too long');
  try {
    if (sanitizeFileName(name) !== name) throw nameRefused(kind, name, 'it is not in Unicode normal form (NFC)');
  } catch (error) {
    if (isLorasmithError(error) && error.code === 'file-name-refused') throw nameRefused(kind, name, /was refused: (.*)\.$/s.exec(error.message)?.[1] ?? 'it is not a valid file name');
    throw error;
  }
  return name;
}

export function checkDatasetName(name: string): string {
  return checkName('dataset', name, DATASET_NAME);
}

export function checkSubsetName(name: string): string {
  return checkName('subset', name, SUBSET_NAME);
}

/**
 * kohya's `N_class` folder convention (kohya-sd-scripts.md §2.3): the part before the first `_` is the repeat
 * count, the rest the class tokens; `10` alone has repeats 10 and no class tokens. Undefined when the folder
 * does not follow it (kohya skips such folders; lorasmith keeps them with repeats 1).
 */
export function parseKohyaFolderName(name: string): { repeats: number; classTokens: string } | undefined {
  const match = /^(\d{1,6})(?:_(.*))?$/s.exec(name);
  if (match === null) return undefined;
  const repeats = Number(match[1]);
  return repeats >= 1 ? { repeats, classTokens: (match[2] ?? '').trim() } : undefined;
}

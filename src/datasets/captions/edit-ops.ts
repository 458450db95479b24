/**
 * The bulk caption edits, as data (so the CLI, HTTP API and UI send the same thing) and as pure tag
 * transforms. `replace` with `regex: true` is not pure: plan-edit.ts runs it in a worker.
 */
import { LorasmithError } from '../../core/errors.ts';
import { compareCodePoints } from './dataset-files.ts';

export type CaptionEdit =
  /** Put the trigger word first, moving it there if it is already elsewhere. */
  | { op: 'add-trigger'; trigger: string }
  | { op: 'remove-tags'; tags: readonly string[]; ignoreCase?: boolean }
  /**
   * Replace `find` by `replacement`, in the whole caption text (`target: 'text'`, the default) or in each
   * tag on its own (`'tags'`; a tag replaced by nothing is removed). Literal unless `regex` is true.
   */
  | { op: 'replace'; find: string; replacement: string; regex?: boolean; flags?: string; target?: 'text' | 'tags'; timeBudgetMs?: number }
  /** Drop repeated tags, keeping the first occurrence. */
  | { op: 'dedupe'; ignoreCase?: boolean }
  /** Sort tags by code point, leaving the first `keepTokens` where they are (kohya's `keep_tokens`). */
  | { op: 'sort'; keepTokens?: number };

export type TagEdit = Exclude<CaptionEdit, { op: 'replace' }>;

function refuse(what: string, hint: string): LorasmithError {
  return new LorasmithError({ code: 'caption-edit-invalid', message: `The caption edit was refused: ${what}.`, hint });
}

/** Checks that do not depend on any caption, so a bad edit fails before files are read. */
export function checkEdit(edit: CaptionEdit): void {
  switch (edit.op) {
    case 'add-trigger':
      if (edit.trigger.trim() === '' || /[,\r\n]/.test(edit.trigger)) {
        throw refuse(`the trigger ${JSON.stringify(edit.trigger.slice(0, 100))} is empty or contains a comma or line break`, 'Give a single word or phrase such as "sks dog".');
      }
      return;
    case 'remove-tags':
      if (edit.tags.length === 0) throw refuse('no tags to remove were given', 'Name at least one tag.');
      return;
    case 'replace':
      if (edit.find === '') throw refuse('the text to find is empty', 'Give the text (or pattern) to find.');
      return;
    case 'sort':
      if (edit.keepTokens !== undefined && (!Number.isSafeInteger(edit.keepTokens) || edit.keepTokens < 0)) {
        throw refuse(`keepTokens ${edit.keepTokens} is not a whole number ≥ 0`, 'Set keepTokens to the number of leading tags to keep in place, as kohya’s keep_tokens.');
      }
      return;
    case 'dedupe':
      return;
  }
}

const fold = (ignoreCase: boolean | undefined) => (tag: string) => (ignoreCase === true ? tag.toLowerCase() : tag);

export function applyTagEdit(tags: readonly string[], edit: TagEdit): string[] {
  switch (edit.op) {
    case 'add-trigger': {
      const trigger = edit.trigger.trim();
      return [trigger, ...tags.filter((tag) => tag !== trigger)];
    }
    case 'remove-tags': {
      const key = fold(edit.ignoreCase);
      const drop = new Set(edit.tags.map((tag) => key(tag.trim())));
      return tags.filter((tag) => !drop.has(key(tag)));
    }
    case 'dedupe': {
      const key = fold(edit.ignoreCase);
      const seen = new Set<string>();
      return tags.filter((tag) => {
        if (seen.has(key(tag))) return false;
        seen.add(key(tag));
        return true;
      });
    }
    case 'sort': {
      const keep = edit.keepTokens ?? 0;
      return [...tags.slice(0, keep), ...tags.slice(keep).sort(compareCodePoints)];
    }
  }
}

export function describeEdit(edit: CaptionEdit): string {
  switch (edit.op) {
    case 'add-trigger':
      return `add trigger "${edit.trigger.trim()}"`;
    case 'remove-tags':
      return `remove ${edit.tags.map((tag) => `"${tag}"`).join(', ')}`;
    case 'replace':
      return `replace ${edit.regex === true ? `/${edit.find}/${edit.flags ?? ''}` : `"${edit.find}"`} with "${edit.replacement}"${edit.target === 'tags' ? ' in each tag' : ''}`;
    case 'dedupe':
      return 'remove duplicate tags';
    case 'sort':
      return `sort tags${edit.keepTokens ? ` after the first ${edit.keepTokens}` : ''}`;
  }
}

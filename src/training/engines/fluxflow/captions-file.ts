/**
 * FluxFlow's captions file (fluxflow.md §1.1): one line per image, `image_name<TAB>caption`, the name relative to
 * `data_path`. A blank line or a second tab aborts start-up with a ValueError, so the writer makes every line
 * well-formed and `parseCaptionsFile` — the reading rules FluxFlow applies — is what its spec and the engine
 * double check it with.
 */
import { LorasmithError } from '../../../core/errors.ts';

export interface CaptionEntry {
  /** Relative to `data_path`, `/`-separated (`<subset>/<file>`). */
  image: string;
  caption: string;
}

/**
 * Whitespace of any kind (including what Python's `splitlines` breaks on: \v \f \x1c–\x1e \x85 \u2028 \u2029)
 * becomes one space: a caption is one line of words.
 */
const ANY_SPACE = /[\s\u0085\u001c-\u001f]+/gu;

export function normaliseCaption(caption: string): string {
  return caption.replace(ANY_SPACE, ' ').trim();
}

const BAD_NAME = /[\t\n\r\u000b\u000c\u001c-\u001f\u0085\u2028\u2029]/u;

/** The file's text. Throws when an image name cannot be written on one line, or a caption is empty. */
export function renderCaptionsFile(entries: readonly CaptionEntry[]): string {
  const lines = entries.map((entry) => {
    const caption = normaliseCaption(entry.caption);
    if (BAD_NAME.test(entry.image) || entry.image.trim() !== entry.image || entry.image === '') {
      throw new LorasmithError({
        code: 'fluxflow-image-name',
        message: `The image name ${JSON.stringify(entry.image)} cannot go into FluxFlow's captions file (tabs, line breaks or surrounding spaces).`,
        hint: 'Rename the image in the dataset.',
        exitCode: 1,
        status: 400,
      });
    }
    if (caption === '') {
      throw new LorasmithError({ code: 'fluxflow-caption-empty', message: `The image ${entry.image} has an empty caption.`, hint: 'Caption it, or leave it out of the run.', exitCode: 1, status: 400 });
    }
    return `${entry.image}\t${caption}`;
  });
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

export type ParsedCaptions = { ok: true; entries: CaptionEntry[] } | { ok: false; line: number; error: string };

/** FluxFlow's reading (`data/datasets.py:74-82`): every line splits on tab into exactly a name and a caption. */
export function parseCaptionsFile(text: string): ParsedCaptions {
  const lines = text.split(/\r\n|\n|\r/);
  if (lines[lines.length - 1] === '') lines.pop();
  const entries: CaptionEntry[] = [];
  for (const [index, line] of lines.entries()) {
    const parts = line.trim().split('\t');
    if (parts.length < 2) return { ok: false, line: index + 1, error: `not enough values to unpack (expected 2, got ${parts.length})` };
    if (parts.length > 2) return { ok: false, line: index + 1, error: 'too many values to unpack (expected 2)' };
    entries.push({ image: parts[0] ?? '', caption: parts[1] ?? '' });
  }
  return { ok: true, entries };
}

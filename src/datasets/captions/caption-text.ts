/**
 * Caption text ⇄ tags. A caption is UTF-8 text; as tags it is split on commas and trimmed, the way kohya
 * shuffles it and counts `ss_tag_frequency` (reference §2.2, §6). Free-text captions are the same file read
 * whole: a sentence is one "tag" until it has a comma.
 */
import { LorasmithError } from '../../core/errors.ts';

export const MAX_CAPTION_BYTES = 64 * 1024;

export function parseTags(text: string): string[] {
  return text
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');
}

export function formatTags(tags: readonly string[]): string {
  return tags.join(', ');
}

/**
 * Rewrite `text` from edited tags. An edit that leaves the tag list as it was leaves the text as it was,
 * so a no-op shows no change; otherwise a trailing newline (taggers write one) survives the rewrite.
 */
export function retag(text: string, tags: readonly string[]): string {
  const before = parseTags(text);
  if (before.length === tags.length && before.every((tag, i) => tag === tags[i])) return text;
  return formatTags(tags) + (text.endsWith('\n') ? '\n' : '');
}

function tooLarge(where: string, bytes: number): LorasmithError {
  return new LorasmithError({
    code: 'caption-too-large',
    message: `The caption ${where} would be ${bytes} bytes; captions are limited to ${MAX_CAPTION_BYTES} bytes (64 KiB).`,
    hint: 'Shorten the caption; the text encoder reads only the first 75–225 tokens anyway.',
    status: 413,
  });
}

/** Strict UTF-8: kohya reads captions as UTF-8 and stops on anything else, so we refuse it up front. */
export function decodeCaption(bytes: Uint8Array, where: string): string {
  if (bytes.byteLength > MAX_CAPTION_BYTES) throw tooLarge(where, bytes.byteLength);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new LorasmithError({
      code: 'caption-not-utf8',
      message: `The caption ${where} is not valid UTF-8 text.`,
      hint: 'Re-save the caption file as UTF-8 (kohya cannot read it either), or delete it and write it again here.',
      cause: error,
    });
  }
}

export function encodeCaption(text: string, where: string): Uint8Array {
  if (text.includes('\u0000')) {
    throw new LorasmithError({
      code: 'caption-not-text',
      message: `The caption ${where} would contain a NUL character.`,
      hint: 'Remove the NUL character; captions are plain text.',
    });
  }
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength > MAX_CAPTION_BYTES) throw tooLarge(where, bytes.byteLength);
  return bytes;
}

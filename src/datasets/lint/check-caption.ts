import { isLorasmithError } from '../../core/errors.ts';
import { parseTags } from '../captions/caption-text.ts';
import type { DatasetImage } from '../captions/dataset-files.ts';
import { loadCaption } from '../captions/read-caption.ts';
import { approximateClipTokens, type MaxTokenLength } from './clip-tokens.ts';
import type { LintFinding, LintSubsetMeta } from './types.ts';

export interface CaptionCheck {
  maxTokenLength: MaxTokenLength;
  trigger?: string;
  subsets: Readonly<Record<string, LintSubsetMeta>>;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The trigger as a whole tag, or as a whole-word phrase inside free text; CLIP lower-cases, so we do too. */
function hasTrigger(caption: string, trigger: string): boolean {
  const wanted = trigger.trim().toLowerCase();
  if (parseTags(caption).some((tag) => tag.toLowerCase() === wanted)) return true;
  return new RegExp(`(^|[^\\p{L}\\p{N}_])${escapeRegExp(wanted)}($|[^\\p{L}\\p{N}_])`, 'u').test(caption.toLowerCase());
}

/**
 * What kohya will make of one image's caption (reference §2.2): only the first line is used; an empty file
 * stops training; no file means the subset's class tokens, or an empty caption.
 */
export async function checkCaption(entry: DatasetImage, check: CaptionCheck): Promise<LintFinding[]> {
  const image = entry.image;
  const meta = check.subsets[entry.subset] ?? {};
  let loaded;
  try {
    loaded = await loadCaption(entry);
  } catch (error) {
    if (!isLorasmithError(error)) throw error;
    return [{ code: 'caption-unreadable', severity: 'error', message: error.message, hint: error.hint ?? 'Fix or rewrite the caption file.', image }];
  }
  const findings: LintFinding[] = [];
  const classTokens = meta.classTokens?.trim() ?? '';
  let used: string;
  if (loaded.bytes === null) {
    used = classTokens;
    findings.push(
      classTokens === ''
        ? {
            code: 'caption-missing',
            severity: 'warning',
            message: `${image} has no caption (${entry.caption}) and its subset has no class tokens, so it trains with an empty caption.`,
            hint: 'Write a caption, auto-tag the dataset, or set class tokens on the subset.',
            image,
          }
        : {
            code: 'caption-missing',
            severity: 'info',
            message: `${image} has no caption; kohya uses the subset's class tokens "${classTokens}".`,
            hint: 'Fine for simple DreamBooth runs; write a caption to describe what should not stick to the trigger.',
            image,
          },
    );
  } else {
    used = (loaded.text.split('\n')[0] ?? '').trim();
    if (loaded.bytes.byteLength === 0) {
      findings.push({
        code: 'caption-empty',
        severity: 'error',
        message: `The caption ${entry.caption} is an empty file; kohya stops with "caption file is empty".`,
        hint: 'Write a caption into it, or delete the file to fall back to class tokens.',
        image,
      });
    } else if (used === '') {
      findings.push({
        code: 'caption-empty',
        severity: 'warning',
        message: `The first line of ${entry.caption} is blank; kohya reads only that line, so the image trains with an empty caption.`,
        hint: 'Put the caption on the first line.',
        image,
      });
    }
  }
  const tokens = approximateClipTokens(used);
  if (tokens > check.maxTokenLength) {
    findings.push({
      code: 'caption-too-long',
      severity: 'warning',
      message: `The caption of ${image} is about ${tokens} CLIP tokens (an estimate); with max_token_length ${check.maxTokenLength} the text encoder ignores everything past token ${check.maxTokenLength}.`,
      hint: `Shorten it to the tags that matter, put the important ones first, or train with max_token_length ${check.maxTokenLength === 75 ? '150 or 225' : '225'}.`,
      image,
    });
  }
  if (check.trigger !== undefined && check.trigger.trim() !== '' && meta.isReg !== true && !hasTrigger(used, check.trigger)) {
    findings.push({
      code: 'trigger-missing',
      severity: 'warning',
      message: `The caption of ${image} does not contain the trigger "${check.trigger.trim()}".`,
      hint: 'Add it with the bulk "add trigger" edit, so the concept binds to the word.',
      image,
    });
  }
  return findings;
}

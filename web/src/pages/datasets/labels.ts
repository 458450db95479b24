import { formatCount } from '../../format.ts';
import type { LintSeverity } from './types.ts';

/** "1 image", "60 images". */
export function plural(count: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${formatCount(count)} ${count === 1 ? noun : pluralNoun}`;
}

export const SEVERITY_LABELS: Record<LintSeverity, string> = { error: 'Error', warning: 'Warning', info: 'Info' };

export const SEVERITY_BADGES: Record<LintSeverity, string> = { error: 'badge--failed', warning: 'badge--warn', info: 'badge--info' };

/** A dataset name from a zip's file name: the allowed characters only, e.g. "My Dog (v2).zip" → "My-Dog-v2". */
export function datasetNameFromFile(fileName: string): string {
  return fileName
    .replace(/\.zip$/i, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[._-]+|[-]+$/g, '')
    .slice(0, 64);
}

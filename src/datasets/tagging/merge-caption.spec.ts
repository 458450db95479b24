import { describe, expect, it } from 'vitest';
import { mergeCaption } from './merge-caption.ts';

const tags = ['solo', 'long hair'];

describe('mergeCaption', () => {
  it('overwrite replaces the caption; files end with a newline, as sd-scripts writes them', () => {
    expect(mergeCaption({ mode: 'overwrite', existing: 'old, caption\n', tags })).toBe('solo, long hair\n');
    expect(mergeCaption({ mode: 'overwrite', existing: null, tags, triggerWord: 'sks' })).toBe('sks, solo, long hair\n');
  });

  it('append keeps the existing tags in their order and adds only new ones', () => {
    expect(mergeCaption({ mode: 'append', existing: 'long hair, red eyes\n', tags })).toBe('long hair, red eyes, solo\n');
    expect(mergeCaption({ mode: 'append', existing: null, tags })).toBe('solo, long hair\n');
  });

  it('append moves the trigger word first even when the old caption had it elsewhere', () => {
    expect(mergeCaption({ mode: 'append', existing: 'red eyes, sks', tags, triggerWord: 'sks' })).toBe('sks, red eyes, solo, long hair\n');
  });

  it('skip leaves a captioned image alone but captions one without a caption or with a blank one', () => {
    expect(mergeCaption({ mode: 'skip', existing: 'mine', tags })).toBeNull();
    expect(mergeCaption({ mode: 'skip', existing: null, tags })).toBe('solo, long hair\n');
    expect(mergeCaption({ mode: 'skip', existing: ' \n', tags })).toBe('solo, long hair\n');
  });

  it('no tags and no trigger give an empty caption (the captions module then removes the file)', () => {
    expect(mergeCaption({ mode: 'overwrite', existing: 'old', tags: [] })).toBe('');
  });
});

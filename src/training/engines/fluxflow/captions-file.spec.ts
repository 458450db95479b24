import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normaliseCaption, parseCaptionsFile, renderCaptionsFile } from './captions-file.ts';

describe('FluxFlow captions file', () => {
  it('writes one name<TAB>caption line per image that FluxFlow\'s reader accepts as written', () => {
    const entries = [
      { image: '10_sks dog/001.png', caption: 'sks dog,\tsitting\r\non grass  ' },
      { image: 'cats/a.jpg', caption: 'a cat\u2028with a hat\u0085' },
    ];
    const text = renderCaptionsFile(entries);
    expect(text).toBe('10_sks dog/001.png\tsks dog, sitting on grass\ncats/a.jpg\ta cat with a hat\n');
    expect(parseCaptionsFile(text)).toEqual({ ok: true, entries: entries.map((entry) => ({ image: entry.image, caption: normaliseCaption(entry.caption) })) });
  });

  it('any caption text round-trips as its normalised single line', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.stringMatching(/^[a-z0-9][a-z0-9 _-]{0,10}\/[a-z0-9]{1,8}\.png$/), fc.string({ minLength: 1, maxLength: 40 })), { maxLength: 5 }), (pairs) => {
        const entries = pairs.map(([image, caption]) => ({ image, caption })).filter((entry) => normaliseCaption(entry.caption) !== '');
        const parsed = parseCaptionsFile(renderCaptionsFile(entries));
        expect(parsed).toEqual({ ok: true, entries: entries.map((entry) => ({ image: entry.image, caption: normaliseCaption(entry.caption) })) });
      }),
    );
  });

  it('refuses what would break FluxFlow\'s start-up: a tab in a name, an empty caption', () => {
    expect(() => renderCaptionsFile([{ image: 'a\tb.png', caption: 'x' }])).toThrow(expect.objectContaining({ code: 'fluxflow-image-name' }));
    expect(() => renderCaptionsFile([{ image: 'a.png', caption: ' \t ' }])).toThrow(expect.objectContaining({ code: 'fluxflow-caption-empty' }));
  });

  it('reads like FluxFlow: a blank line or a second tab is a ValueError', () => {
    expect(parseCaptionsFile('a.png\tx\n\nb.png\ty\n')).toEqual({ ok: false, line: 2, error: 'not enough values to unpack (expected 2, got 1)' });
    expect(parseCaptionsFile('a.png\tx\ty\n')).toEqual({ ok: false, line: 1, error: 'too many values to unpack (expected 2)' });
  });
});

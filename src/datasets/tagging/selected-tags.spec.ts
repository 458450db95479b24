import { mkdtemp, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_TAGS_CSV_BYTES, parseSelectedTags, readSelectedTags } from './selected-tags.ts';

const parse = (text: string) => parseSelectedTags({ text, source: 'selected_tags.csv' });
const HEADER = 'tag_id,name,category,count\n';

describe('parseSelectedTags', () => {
  it('maps data row i to output i, by category', () => {
    const labels = parse(`${HEADER}9999999,general,9,807\n9999998,sensitive,9,1\n470575,1girl,0,4224\n1,hatsune_miku,4,70\n`);
    expect(labels).toEqual([
      { index: 0, name: 'general', category: 'rating' },
      { index: 1, name: 'sensitive', category: 'rating' },
      { index: 2, name: '1girl', category: 'general' },
      { index: 3, name: 'hatsune_miku', category: 'character' },
    ]);
  });

  it('reads quoted names with commas, semicolons, quotes and parentheses; CRLF; a BOM; no final newline', () => {
    const labels = parse(`\uFEFF${HEADER}`.replace('\n', '\r\n') + '1,"a, b;c",0,5\r\n2,"say ""hi""",0,4\r\n3,kagamine_rin_(vocaloid),4,3');
    expect(labels.map((label) => label.name)).toEqual(['a, b;c', 'say "hi"', 'kagamine_rin_(vocaloid)']);
  });

  it('accepts a header of only the three columns sd-scripts checks', () => {
    expect(parse('tag_id,name,category\n1,solo,0\n')).toHaveLength(1);
  });

  it.each([
    ['', /empty/],
    ['id,name,category,count\n1,solo,0,1\n', /header/],
    [HEADER, /no tag rows/],
    [`${HEADER}1,solo,0\n`, /row 2 has 3 fields/],
    [`${HEADER}x,solo,0,1\n`, /tag_id "x"/],
    [`${HEADER}1,solo,1,1\n`, /category "1"/],
    [`${HEADER}1,,0,1\n`, /empty/],
    [`${HEADER}1,"never closed,0,1\n`, /never closed/],
    [`${HEADER}1,"a"b,0,1\n`, /after a closing quote/],
    [`${HEADER}1,a"b,0,1\n`, /quote inside/],
    [`${HEADER}1,general,9,1\n`, /no general/],
  ])('refuses %j', (text, message) => {
    expect(() => parse(text)).toThrow(message);
    try {
      parse(text);
    } catch (error) {
      expect(error).toMatchObject({ code: 'tagger-tags-invalid', hint: expect.stringContaining('selected_tags.csv') });
    }
  });
});

describe('readSelectedTags', () => {
  it('reads a file, refuses a missing, oversized or non-UTF-8 one', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tags-'));
    const file = path.join(dir, 'selected_tags.csv');
    await writeFile(file, `${HEADER}1,solo,0,1\n`);
    expect(await readSelectedTags({ file })).toHaveLength(1);
    await expect(readSelectedTags({ file: path.join(dir, 'none.csv') })).rejects.toMatchObject({ code: 'tagger-files-missing' });
    await writeFile(file, Buffer.from([0xff, 0xfe, 0x00]));
    await expect(readSelectedTags({ file })).rejects.toThrow(/not UTF-8/);
    await truncate(file, MAX_TAGS_CSV_BYTES + 1);
    await expect(readSelectedTags({ file })).rejects.toThrow(/more than/);
  });
});

/**
 * `selected_tags.csv` of a WD14 tagger (reference §A4): header `tag_id,name,category[,count]`, data row i
 * ↔ model output i, category 9 rating / 0 general / 4 character. Names may hold `,` `;` `(` `)` `"` and `_`,
 * so this is a real RFC 4180 parser, and anything unexpected is refused rather than guessed: a wrong
 * mapping from outputs to names would silently write wrong captions.
 */
import { open } from 'node:fs/promises';
import { LorasmithError, errnoCode } from '../../core/errors.ts';

export type TagCategory = 'rating' | 'general' | 'character';

export interface TagLabel {
  /** The model output this row names. */
  index: number;
  name: string;
  category: TagCategory;
}

/** The real files are ~0.3 MB and ~11,000 rows; far larger ones are not tag lists. */
export const MAX_TAGS_CSV_BYTES = 16 * 1024 * 1024;
export const MAX_TAG_ROWS = 200_000;
export const MAX_TAG_NAME_CHARS = 1024;

const CATEGORIES: Readonly<Record<string, TagCategory>> = { '9': 'rating', '0': 'general', '4': 'character' };
const REQUIRED_HEADER = ['tag_id', 'name', 'category'] as const;

function invalid(source: string, what: string): LorasmithError {
  return new LorasmithError({
    code: 'tagger-tags-invalid',
    message: `The tag list ${source} is not a WD14 selected_tags.csv: ${what}.`,
    hint: 'Use the selected_tags.csv published with the model (same repository and revision as model.onnx), unedited.',
  });
}

/** RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks; CRLF or LF ends a record. */
function parseRecords(text: string, source: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
        const next = text[i + 1];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') throw invalid(source, `line ${line} has text after a closing quote`);
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"') {
      if (field !== '') throw invalid(source, `line ${line} has a quote inside an unquoted field`);
      quoted = true;
    } else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      line++;
    } else {
      field += ch;
    }
  }
  if (quoted) throw invalid(source, 'a quoted field is never closed');
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  // Blank lines (a trailing newline, an empty last line) are not rows.
  return records.filter((r) => !(r.length === 1 && r[0] === ''));
}

export function parseSelectedTags(params: { text: string; source: string }): TagLabel[] {
  const { source } = params;
  // Python's csv module would keep a BOM in the first header name; spreadsheets add one, so it is dropped.
  const text = params.text.startsWith('\uFEFF') ? params.text.slice(1) : params.text;
  const [header, ...rows] = parseRecords(text, source);
  if (header === undefined) throw invalid(source, 'the file is empty');
  if (!REQUIRED_HEADER.every((name, i) => header[i] === name)) {
    throw invalid(source, `the header is ${JSON.stringify(header.join(',').slice(0, 200))}, expected it to start with tag_id,name,category`);
  }
  if (rows.length === 0) throw invalid(source, 'it has no tag rows');
  if (rows.length > MAX_TAG_ROWS) throw invalid(source, `it has ${rows.length} rows, more than ${MAX_TAG_ROWS}`);
  const labels = rows.map((row, index): TagLabel => {
    const at = `row ${index + 2}`;
    if (row.length !== header.length) throw invalid(source, `${at} has ${row.length} fields, the header ${header.length}`);
    const [tagId = '', name = '', categoryCode = ''] = row;
    if (!/^\d+$/.test(tagId)) throw invalid(source, `${at} has tag_id ${JSON.stringify(tagId.slice(0, 40))}, not a whole number`);
    if (name.trim() === '' || name.length > MAX_TAG_NAME_CHARS || /[\r\n]/.test(name)) {
      throw invalid(source, `${at} has an empty, multi-line or over-long (> ${MAX_TAG_NAME_CHARS} characters) name`);
    }
    const category = CATEGORIES[categoryCode];
    if (category === undefined) throw invalid(source, `${at} has category ${JSON.stringify(categoryCode.slice(0, 40))}; only 9 (rating), 0 (general) and 4 (character) are used`);
    return { index, name, category };
  });
  if (!labels.some((label) => label.category === 'general')) throw invalid(source, 'it has no general (category 0) tags');
  return labels;
}

/** Read and parse `file`, refusing an oversized file before reading it whole. */
export async function readSelectedTags(params: { file: string }): Promise<TagLabel[]> {
  let handle;
  try {
    handle = await open(params.file, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') {
      throw new LorasmithError({
        code: 'tagger-files-missing',
        message: `The tagger has no tag list: ${params.file} does not exist.`,
        hint: 'A tagger needs model.onnx and selected_tags.csv side by side; import both from the model repository.',
        status: 404,
      });
    }
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size > MAX_TAGS_CSV_BYTES) throw invalid(params.file, `it is ${size} bytes, more than ${MAX_TAGS_CSV_BYTES}`);
    const bytes = await handle.readFile();
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw invalid(params.file, 'it is not UTF-8 text');
    }
    return parseSelectedTags({ text, source: params.file });
  } finally {
    await handle.close();
  }
}

/**
 * Caption lists: CSV with a `file,caption` header (RFC 4180 quoting, so captions may hold commas, quotes
 * and line breaks) or JSON Lines of `{"file": …, "text": …}`. Each row keeps its line number for messages.
 */
import { z } from 'zod';
import { LorasmithError } from '../../core/errors.ts';

export type CaptionListFormat = 'csv' | 'jsonl';

export interface CaptionRow {
  line: number;
  file: string;
  text: string;
}

function listInvalid(line: number, reason: string): LorasmithError {
  return new LorasmithError({
    code: 'caption-list-invalid',
    message: `The caption list is invalid at line ${line}: ${reason}.`,
    hint: 'Use CSV with the header "file,caption", or JSON Lines with {"file": "...", "text": "..."} on each line.',
    exitCode: 1,
    status: 422,
  });
}

/** RFC 4180 records: fields split on commas, `"…"` quoting with `""` for a quote; line numbers of each record's start. */
function csvRecords(text: string): Array<{ line: number; fields: string[] }> {
  const records: Array<{ line: number; fields: string[] }> = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let atFieldStart = true;
  const endRecord = (): void => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) records.push({ line: start, fields });
    fields = [];
    field = '';
    atFieldStart = true;
  };
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') {
        quoted = false;
      } else {
        if (char === '\n') line++;
        field += char;
      }
      continue;
    }
    if (char === '"' && atFieldStart) {
      quoted = true;
      atFieldStart = false;
    } else if (char === '"') {
      throw listInvalid(line, 'a quote inside an unquoted field');
    } else if (char === ',') {
      fields.push(field);
      field = '';
      atFieldStart = true;
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else {
      field += char;
      atFieldStart = false;
    }
  }
  if (quoted) throw listInvalid(start, 'a quoted field is not closed');
  endRecord();
  return records;
}

function parseCsv(text: string): CaptionRow[] {
  const [header, ...rows] = csvRecords(text.replace(/^\ufeff/, ''));
  if (header === undefined || header.fields.map((f) => f.trim().toLowerCase()).join(',') !== 'file,caption') {
    throw listInvalid(header?.line ?? 1, 'the first line must be the header "file,caption"');
  }
  return rows.map(({ line, fields }) => {
    if (fields.length !== 2) throw listInvalid(line, `expected 2 fields, found ${fields.length}`);
    return { line, file: fields[0] ?? '', text: fields[1] ?? '' };
  });
}

const jsonRow = z.object({ file: z.string().min(1).max(1024), text: z.string() }).strict();

function parseJsonl(text: string): CaptionRow[] {
  const rows: CaptionRow[] = [];
  for (const [index, raw] of text.replace(/^\ufeff/, '').split(/\r?\n/).entries()) {
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw listInvalid(index + 1, 'it is not JSON');
    }
    const parsed = jsonRow.safeParse(value);
    if (!parsed.success) throw listInvalid(index + 1, 'expected exactly {"file": "...", "text": "..."}');
    rows.push({ line: index + 1, ...parsed.data });
  }
  return rows;
}

export function parseCaptionList(params: { text: string; format: CaptionListFormat }): CaptionRow[] {
  return params.format === 'csv' ? parseCsv(params.text) : parseJsonl(params.text);
}

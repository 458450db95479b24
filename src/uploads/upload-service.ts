/**
 * The browser upload protocol (DESIGN.md §5, WEB-R04): create with name, size, kind and optional SHA-256;
 * send chunks with Content-Range that continue exactly where the last one stopped; resume from the
 * received count; complete checks size and hash, then hands the file to its kind's pipeline. Bytes land
 * in `quarantine/uploads/` and nothing there is used until a pipeline has checked it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { z } from 'zod';
import type { Db } from '../core/db/open-database.ts';
import { LorasmithError } from '../core/errors.ts';
import { sanitizeFileName } from '../core/file-names.ts';
import type { Settings } from '../core/settings.ts';

export const UPLOAD_KINDS = ['image', 'zip', 'model'] as const;
export type UploadKind = (typeof UPLOAD_KINDS)[number];

export const uploadCreateSchema = z
  .object({
    name: z.string().min(1).max(1024),
    size: z.number().int().min(1).max(2 ** 50),
    kind: z.enum(UPLOAD_KINDS),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    /** Where the file goes, for kinds that need it: a dataset (and subset) for images and zips. */
    target: z
      .object({ dataset: z.string().min(1).max(200), subset: z.string().min(1).max(200).optional() })
      .strict()
      .optional(),
  })
  .strict();
export type UploadTarget = NonNullable<z.infer<typeof uploadCreateSchema>['target']>;
export type UploadCreate = z.infer<typeof uploadCreateSchema>;

export interface UploadStatus {
  id: string;
  name: string;
  kind: UploadKind;
  size: number;
  received: number;
  state: 'receiving' | 'completed' | 'failed';
  result: unknown;
}

/** A verified upload handed to its kind's pipeline; the pipeline owns the file from here. */
export interface CompletedUpload {
  id: string;
  owner: string;
  name: string;
  kind: UploadKind;
  size: number;
  sha256: string;
  file: string;
  target: UploadTarget | null;
}

export interface UploadPipeline {
  /** Checked at create, before any byte is sent: a target that cannot take the file is refused early. */
  accept?: (request: { name: string; size: number; target: UploadTarget | null }) => Promise<void>;
  /** Takes the verified file (it owns it from here) and returns what the client is told. */
  take: (upload: CompletedUpload) => Promise<unknown>;
}

function notFound(id: string): LorasmithError {
  return new LorasmithError({
    code: 'upload-not-found',
    message: `There is no upload ${JSON.stringify(id)} for this client.`,
    hint: 'Start the upload again.',
    status: 404,
  });
}

export function parseContentRange(header: string | undefined): { start: number; end: number; total: number } {
  const match = header === undefined ? null : /^bytes (\d{1,16})-(\d{1,16})\/(\d{1,16})$/.exec(header.trim());
  if (match === null) {
    throw new LorasmithError({
      code: 'upload-range-invalid',
      message: 'The chunk needs a Content-Range header of the form "bytes START-END/TOTAL".',
      hint: 'Send each chunk with its byte range.',
    });
  }
  const [start, end, total] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (end < start) {
    throw new LorasmithError({ code: 'upload-range-invalid', message: 'The chunk’s range ends before it starts.', hint: 'Send each chunk with its byte range.' });
  }
  return { start, end, total };
}

export class UploadService {
  readonly #db: Db;
  readonly #dir: string;
  readonly #settings: () => Promise<Settings>;
  readonly #pipelines = new Map<UploadKind, UploadPipeline>();
  readonly #now: () => Date;

  constructor(params: { db: Db; quarantineDir: string; settings: () => Promise<Settings>; now?: () => Date }) {
    this.#db = params.db;
    this.#dir = path.join(params.quarantineDir, 'uploads');
    this.#settings = params.settings;
    this.#now = params.now ?? (() => new Date());
  }

  /** Later domains (datasets, models) register the pipeline that takes their kind of upload. */
  registerPipeline(kind: UploadKind, pipeline: UploadPipeline): void {
    this.#pipelines.set(kind, pipeline);
  }

  #file(id: string): string {
    return path.join(this.#dir, `${id}.part`);
  }

  async create(owner: string, input: UploadCreate): Promise<{ id: string; chunkBytes: number }> {
    const request = uploadCreateSchema.parse(input);
    const name = sanitizeFileName(request.name);
    const kindPipeline = this.#pipelines.get(request.kind);
    if (kindPipeline === undefined) {
      throw new LorasmithError({
        code: 'upload-kind-unavailable',
        message: `This studio cannot take ${request.kind} uploads yet.`,
        hint: 'Update lorasmith; this kind of upload arrives with its feature.',
        status: 400,
      });
    }
    const limits = (await this.#settings()).uploads;
    const cap = { image: limits.imageMaxBytes, zip: limits.zipMaxBytes, model: limits.modelMaxBytes }[request.kind];
    if (request.size > cap) {
      throw new LorasmithError({
        code: 'upload-too-large',
        message: `${name} is ${request.size} bytes; ${request.kind} uploads may be at most ${cap} bytes.`,
        hint: 'Raise the limit in Settings → Uploads if you trust the file, or upload a smaller one.',
        status: 413,
      });
    }
    await kindPipeline.accept?.({ name, size: request.size, target: request.target ?? null });
    const id = randomUUID();
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    await (await open(this.#file(id), 'wx', 0o600)).close();
    const now = this.#now().toISOString();
    await this.#db
      .insertInto('uploads')
      .values({
        id, owner, kind: request.kind, name, size: request.size, sha256: request.sha256 ?? null, received: 0, state: 'receiving', result: null,
        target: request.target === undefined ? null : JSON.stringify(request.target), created_at: now, updated_at: now,
      })
      .execute();
    return { id, chunkBytes: limits.chunkBytes };
  }

  async status(owner: string, id: string): Promise<UploadStatus> {
    const row = await this.#db.selectFrom('uploads').selectAll().where('id', '=', id).where('owner', '=', owner).executeTakeFirst();
    if (row === undefined) throw notFound(id);
    return {
      id: row.id,
      name: row.name,
      kind: row.kind as UploadKind,
      size: row.size,
      received: row.received,
      state: row.state as UploadStatus['state'],
      result: row.result === null ? null : (JSON.parse(row.result) as unknown),
    };
  }

  /** Append one chunk. It must start at the bytes received so far and stay within the declared size. */
  async append(owner: string, id: string, range: { start: number; end: number; total: number }, body: Readable): Promise<UploadStatus> {
    const upload = await this.status(owner, id);
    const chunkBytes = (await this.#settings()).uploads.chunkBytes;
    const length = range.end - range.start + 1;
    const refuse = (message: string, hint: string) => {
      body.resume();
      return new LorasmithError({ code: 'upload-range-refused', message, hint, status: 416, details: { received: upload.received } });
    };
    if (upload.state !== 'receiving') throw refuse('This upload is already complete.', 'Start a new upload.');
    if (range.total !== upload.size) throw refuse(`The chunk says the file has ${range.total} bytes; the upload declared ${upload.size}.`, 'Send the same size the upload was created with.');
    if (range.start !== upload.received) throw refuse(`The chunk starts at byte ${range.start}, but ${upload.received} bytes were received.`, `Resume from byte ${upload.received}.`);
    if (range.end >= upload.size) throw refuse('The chunk runs past the declared size.', 'Send at most the declared size.');
    if (length > chunkBytes) throw refuse(`The chunk is ${length} bytes; at most ${chunkBytes} per request.`, `Split it into chunks of ${chunkBytes} bytes.`);

    let counted = 0;
    const limiter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        counted += chunk.length;
        if (counted > length) callback(new LorasmithError({ code: 'upload-range-refused', message: 'The chunk holds more bytes than its range says.', hint: 'Send exactly the bytes of the range.', status: 416 }));
        else callback(null, chunk);
      },
    });
    await pipeline(body, limiter, createWriteStream(this.#file(id), { flags: 'r+', start: range.start }));
    if (counted !== length) {
      // A short chunk (a connection cut midway) keeps what arrived in the file but not in the count:
      // the client resumes from the received offset, which overwrites the partial bytes.
      throw new LorasmithError({ code: 'upload-chunk-short', message: `The chunk ended after ${counted} of ${length} bytes.`, hint: `Resume from byte ${upload.received}.`, status: 400 });
    }
    await this.#db
      .updateTable('uploads')
      .set({ received: upload.received + length, updated_at: this.#now().toISOString() })
      .where('id', '=', id)
      .where('received', '=', upload.received)
      .execute();
    return this.status(owner, id);
  }

  async complete(owner: string, id: string): Promise<UploadStatus> {
    const upload = await this.status(owner, id);
    const row = await this.#db.selectFrom('uploads').select(['sha256', 'target']).where('id', '=', id).executeTakeFirstOrThrow();
    if (upload.state !== 'receiving') return upload;
    const fail = async (message: string, hint: string): Promise<never> => {
      await this.#db.updateTable('uploads').set({ state: 'failed', updated_at: this.#now().toISOString() }).where('id', '=', id).execute();
      await rm(this.#file(id), { force: true });
      throw new LorasmithError({ code: 'upload-integrity', message, hint, status: 422, exitCode: 1 });
    };
    if (upload.received !== upload.size) {
      throw new LorasmithError({
        code: 'upload-incomplete',
        message: `Only ${upload.received} of ${upload.size} bytes have arrived.`,
        hint: `Resume from byte ${upload.received}.`,
        status: 409,
        details: { received: upload.received },
      });
    }
    const hash = createHash('sha256');
    await pipeline(createReadStream(this.#file(id)), hash);
    const sha256 = hash.digest('hex');
    if (row.sha256 !== null && row.sha256 !== sha256) await fail(`${upload.name} arrived with SHA-256 ${sha256}, not the declared ${row.sha256}.`, 'Upload the file again; nothing was kept.');
    const kindPipeline = this.#pipelines.get(upload.kind);
    if (kindPipeline === undefined) return fail(`No pipeline takes ${upload.kind} uploads.`, 'Update lorasmith.');
    const target = row.target === null ? null : (JSON.parse(row.target) as UploadTarget);
    const result = await kindPipeline.take({ id, owner, name: upload.name, kind: upload.kind, size: upload.size, sha256, file: this.#file(id), target });
    await this.#db
      .updateTable('uploads')
      .set({ state: 'completed', result: JSON.stringify(result ?? null), updated_at: this.#now().toISOString() })
      .where('id', '=', id)
      .execute();
    return this.status(owner, id);
  }
}

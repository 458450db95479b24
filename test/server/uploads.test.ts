/** The chunked, resumable upload protocol (DESIGN.md §5, WEB-R04) against the real server. */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompletedUpload } from '../../src/uploads/upload-service.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let cookie: string;
let csrf: string;
const handed: Array<CompletedUpload & { bytes: Buffer }> = [];

beforeAll(async () => {
  studio = await startTestStudio();
  // A stand-in for the image pipeline the datasets domain registers: it records what it was handed.
  studio.running.studio.uploads.registerPipeline('image', {
    take: async (upload) => {
      handed.push({ ...upload, bytes: await readFile(upload.file) });
      return { accepted: upload.name };
    },
  });
  await studio.running.studio.settings.update({ uploads: { chunkBytes: 64 * 1024, imageMaxBytes: 1024 * 1024 } });
  cookie = await studio.pair();
  csrf = (await studio.asPage({ path: '/api/session' }, cookie)).json<{ csrfToken: string }>().csrfToken;
});
afterAll(async () => studio.stop());

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function create(body: Record<string, unknown>, headers: Record<string, string> = { 'x-lorasmith-upload': csrf }) {
  return studio.asPage({ path: '/api/uploads', method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }, cookie);
}

async function put(id: string, bytes: Buffer, start: number, total: number) {
  return studio.asPage(
    {
      path: `/api/uploads/${id}`,
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes ${start}-${start + bytes.length - 1}/${total}`, 'x-lorasmith-upload': csrf },
      body: bytes,
    },
    cookie,
  );
}

describe('upload protocol', () => {
  it('without X-Lorasmith-Upload, or with another session’s token → 403', async () => {
    expect((await create({ name: 'a.png', size: 10, kind: 'image' }, {})).status).toBe(403);
    const otherCookie = await studio.pair((await studio.asBearer({ path: '/api/pairings', method: 'POST' })).json<{ url: string }>().url);
    const otherCsrf = (await studio.asPage({ path: '/api/session' }, otherCookie)).json<{ csrfToken: string }>().csrfToken;
    expect((await create({ name: 'a.png', size: 10, kind: 'image' }, { 'x-lorasmith-upload': otherCsrf })).status).toBe(403);
  });

  it('an upload cut off midway resumes from the GET offset and completes; the pipeline gets exact bytes', async () => {
    const bytes = Buffer.alloc(150 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 251;
    const created = (await create({ name: 'Photo 01.PNG', size: bytes.length, kind: 'image', sha256: sha(bytes) })).json<{ id: string; chunkBytes: number }>();
    expect(created.chunkBytes).toBe(64 * 1024);
    expect((await put(created.id, bytes.subarray(0, 64 * 1024), 0, bytes.length)).status).toBe(200);
    // A chunk that does not continue at the received offset is refused.
    expect((await put(created.id, bytes.subarray(100 * 1024, 110 * 1024), 100 * 1024, bytes.length)).status).toBe(416);
    const status = (await studio.asPage({ path: `/api/uploads/${created.id}`, headers: { 'x-lorasmith-upload': csrf } }, cookie)).json<{ received: number }>();
    expect(status.received).toBe(64 * 1024);
    // Completing early is refused with the offset to resume from.
    const early = await studio.asPage({ path: `/api/uploads/${created.id}/complete`, method: 'POST', headers: { 'x-lorasmith-upload': csrf } }, cookie);
    expect(early.status).toBe(409);
    for (let start = status.received; start < bytes.length; start += 64 * 1024) {
      expect((await put(created.id, bytes.subarray(start, Math.min(bytes.length, start + 64 * 1024)), start, bytes.length)).status).toBe(200);
    }
    const done = await studio.asPage({ path: `/api/uploads/${created.id}/complete`, method: 'POST', headers: { 'x-lorasmith-upload': csrf } }, cookie);
    expect(done.status).toBe(200);
    expect(done.json<{ state: string; result: unknown }>()).toMatchObject({ state: 'completed', result: { accepted: 'Photo 01.PNG' } });
    const last = handed.at(-1);
    expect(last?.sha256).toBe(sha(bytes));
    expect(last?.bytes.equals(bytes)).toBe(true);
    expect(path.dirname(last?.file ?? '')).toBe(path.join(studio.home, 'quarantine', 'uploads'));
  });

  it('a chunk running past the size, or larger than the chunk cap, is refused', async () => {
    const created = (await create({ name: 'b.png', size: 100, kind: 'image' })).json<{ id: string }>();
    expect((await put(created.id, Buffer.alloc(120), 0, 100)).status).toBe(416);
    const big = (await create({ name: 'c.png', size: 200 * 1024, kind: 'image' })).json<{ id: string }>();
    expect((await put(big.id, Buffer.alloc(100 * 1024), 0, 200 * 1024)).status).toBe(416);
  });

  it('a chunk whose body is longer than its Content-Range is refused', async () => {
    const created = (await create({ name: 'd.png', size: 100, kind: 'image' })).json<{ id: string }>();
    const response = await studio.asPage(
      { path: `/api/uploads/${created.id}`, method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-range': 'bytes 0-9/100', 'x-lorasmith-upload': csrf }, body: Buffer.alloc(50) },
      cookie,
    );
    expect(response.status).toBeGreaterThanOrEqual(400);
    const status = (await studio.asPage({ path: `/api/uploads/${created.id}`, headers: { 'x-lorasmith-upload': csrf } }, cookie)).json<{ received: number }>();
    expect(status.received).toBe(0);
  });

  it('a complete whose bytes do not match the declared sha256 is refused and nothing is handed on', async () => {
    const bytes = Buffer.from('not what was promised');
    const before = handed.length;
    const created = (await create({ name: 'e.png', size: bytes.length, kind: 'image', sha256: '0'.repeat(64) })).json<{ id: string }>();
    await put(created.id, bytes, 0, bytes.length);
    const done = await studio.asPage({ path: `/api/uploads/${created.id}/complete`, method: 'POST', headers: { 'x-lorasmith-upload': csrf } }, cookie);
    expect(done.status).toBe(422);
    expect(done.json<{ error: { code: string } }>().error.code).toBe('upload-integrity');
    expect(handed.length).toBe(before);
    expect(await readdir(path.join(studio.home, 'quarantine', 'uploads'))).not.toContain(`${created.id}.part`);
  });

  it('a create over the kind’s cap, or without the target its kind needs, is refused before any byte is sent', async () => {
    const tooBig = await create({ name: 'huge.png', size: 2 * 1024 * 1024, kind: 'image' });
    expect(tooBig.status).toBe(413);
    expect(tooBig.json<{ error: { code: string } }>().error.code).toBe('upload-too-large');
    const noTarget = await create({ name: 'x.zip', size: 10, kind: 'zip' });
    expect(noTarget.json<{ error: { code: string } }>().error.code).toBe('upload-target-missing');
  });

  it('hostile names are sanitised or refused (ARC-R07)', async () => {
    const refused = await create({ name: 'CON.png', size: 10, kind: 'image' });
    expect(refused.json<{ error: { code: string } }>().error.code).toBe('file-name-refused');
    const cleaned = (await create({ name: '../..\\evil\u202e.png', size: 10, kind: 'image' })).json<{ id: string }>();
    const status = (await studio.asPage({ path: `/api/uploads/${cleaned.id}`, headers: { 'x-lorasmith-upload': csrf } }, cookie)).json<{ name: string }>();
    expect(status.name).toBe('....evil.png');
  });

  it('a bearer client uploads without the CSRF header; another client cannot see the upload', async () => {
    const bytes = Buffer.from('script upload');
    const created = (
      await studio.asBearer({ path: '/api/uploads', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 's.png', size: bytes.length, kind: 'image' }) })
    ).json<{ id: string }>();
    const put1 = await studio.asBearer({ path: `/api/uploads/${created.id}`, method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes 0-${bytes.length - 1}/${bytes.length}` }, body: bytes });
    expect(put1.status).toBe(200);
    expect((await studio.asPage({ path: `/api/uploads/${created.id}`, headers: { 'x-lorasmith-upload': csrf } }, cookie)).status).toBe(404);
  });

  it('octet-stream is accepted on the chunk route only', async () => {
    const response = await studio.asBearer({ path: '/api/tokens', method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from('{"name":"x"}') });
    expect(response.status).toBe(415);
  });
});

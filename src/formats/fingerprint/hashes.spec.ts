import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import { hashModelFile, safetensorsBodyStart } from './hashes.ts';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** A safetensors file as kohya saves one: u64 LE header length, JSON header, then the tensor bytes. */
function safetensors(metadata: Record<string, string>, body: Buffer): { file: Buffer; body: Buffer } {
  const header = Buffer.from(
    JSON.stringify({
      __metadata__: metadata,
      'lora_unet_mid_block_attentions_0_proj_in.lora_down.weight': { dtype: 'F32', shape: [body.length / 4], data_offsets: [0, body.length] },
    }),
  );
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  return { file: Buffer.concat([length, header, body]), body };
}

let dir: string;
const place = async (name: string, bytes: Uint8Array): Promise<string> => {
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return file;
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lorasmith-hashes-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('hashModelFile', () => {
  it('small safetensors: SHA-256, AutoV2, sshs_model_hash and AutoV3 against node:crypto; no AutoV1 under 2 MiB', async () => {
    const { file, body } = safetensors({ ss_network_dim: '4' }, randomBytes(4096));
    const hashes = await hashModelFile({ path: await place('small.safetensors', file) });
    const full = sha256(file);
    expect(hashes).toEqual({
      size: file.length,
      sha256: full,
      autoV2: full.slice(0, 10),
      autoV1: null,
      sshsModelHash: sha256(body),
      autoV3: sha256(body).slice(0, 12),
    });
  });

  it('sshs_model_hash ignores the metadata; the full-file hash does not', async () => {
    const tensors = randomBytes(1024);
    const a = await hashModelFile({ path: await place('a.safetensors', safetensors({ ss_output_name: 'a' }, tensors).file) });
    const b = await hashModelFile({
      path: await place('b.safetensors', safetensors({ ss_output_name: 'b', sshs_model_hash: 'x' }, tensors).file),
    });
    expect(a.sshsModelHash).toBe(b.sshsModelHash);
    expect(a.sha256).not.toBe(b.sha256);
  });

  it.each([
    ['inline, chunks that split the header and the AutoV1 window', { chunkBytes: 64 * 1024 + 7, parallelBodyFrom: Infinity }],
    ['on the worker thread', { chunkBytes: 256 * 1024 + 3, parallelBodyFrom: 0 }],
    ['default chunks, worker', { parallelBodyFrom: 0 }],
  ])('3 MiB safetensors, %s', async (_, options) => {
    // A header longer than a chunk: the body starts in a later chunk.
    const { file, body } = safetensors({ ss_tag_frequency: 'x'.repeat(100_000) }, randomBytes(3 * 1024 * 1024));
    const progress: Array<[number, number]> = [];
    const hashes = await hashModelFile({
      path: await place('big.safetensors', file),
      onProgress: (done, total) => progress.push([done, total]),
      ...options,
    });
    expect(hashes.sha256).toBe(sha256(file));
    expect(hashes.sshsModelHash).toBe(sha256(body));
    expect(hashes.autoV1).toBe(sha256(file.subarray(0x100000, 0x110000)).slice(0, 8));
    expect(progress.at(-1)).toEqual([file.length, file.length]);
    for (let i = 1; i < progress.length; i += 1) expect(progress[i]?.[0]).toBeGreaterThan(progress[i - 1]?.[0] ?? 0);
  });

  it('a file that is not safetensors has no body hash', async () => {
    const bytes = Buffer.concat([Buffer.from('PK\u0003\u0004'), randomBytes(3 * 1024 * 1024)]);
    const hashes = await hashModelFile({ path: await place('model.ckpt', bytes) });
    expect(hashes).toMatchObject({ sha256: sha256(bytes), sshsModelHash: null, autoV3: null });
    expect(hashes.autoV1).toBe(sha256(bytes.subarray(0x100000, 0x110000)).slice(0, 8));
  });

  it('an empty file', async () => {
    const hashes = await hashModelFile({ path: await place('empty', new Uint8Array()) });
    expect(hashes).toEqual({ size: 0, sha256: sha256(new Uint8Array()), autoV2: 'e3b0c44298', autoV1: null, sshsModelHash: null, autoV3: null });
  });

  it('cancels before starting and between chunks', async () => {
    const file = await place('cancel.bin', randomBytes(1024 * 1024));
    const before = new AbortController();
    before.abort();
    await expect(hashModelFile({ path: file, signal: before.signal })).rejects.toMatchObject({ code: 'cancelled' });

    const midway = new AbortController();
    let calls = 0;
    const error: unknown = await hashModelFile({
      path: file,
      chunkBytes: 64 * 1024,
      signal: midway.signal,
      onProgress: () => {
        calls += 1;
        if (calls === 2) midway.abort();
      },
    }).catch((caught: unknown) => caught);
    expect(isLorasmithError(error) && error.code).toBe('cancelled');
    expect(calls).toBe(2);
  });

  it('cancels a worker-hashed file and releases it', async () => {
    const { file } = safetensors({}, randomBytes(2 * 1024 * 1024));
    const controller = new AbortController();
    const promise = hashModelFile({
      path: await place('cancel.safetensors', file),
      chunkBytes: 64 * 1024,
      parallelBodyFrom: 0,
      signal: controller.signal,
      onProgress: (done) => {
        if (done > 512 * 1024) controller.abort();
      },
    });
    await expect(promise).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('a missing file is a LorasmithError that names the file, not its folder', async () => {
    const error: unknown = await hashModelFile({ path: path.join(dir, 'nope.safetensors') }).catch((caught: unknown) => caught);
    expect(isLorasmithError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'not-found' });
    expect((error as Error).message).toContain('nope.safetensors');
    expect((error as Error).message).not.toContain(dir);
  });
});

describe('safetensorsBodyStart', () => {
  const head = (length: bigint, next = '{'): Uint8Array => {
    const bytes = Buffer.alloc(9);
    bytes.writeBigUInt64LE(length);
    bytes.write(next, 8);
    return bytes;
  };
  it('is 8 + N for a plausible header', () => expect(safetensorsBodyStart(head(100n), 200)).toBe(108));
  it('refuses a length past the end, a non-JSON header, or too few bytes', () => {
    expect(safetensorsBodyStart(head(193n), 200)).toBeNull();
    expect(safetensorsBodyStart(head(2n ** 63n), 200)).toBeNull();
    expect(safetensorsBodyStart(head(10n, 'P'), 200)).toBeNull();
    expect(safetensorsBodyStart(new Uint8Array(5), 5)).toBeNull();
  });
  it('accepts a header that fills the file (an empty body)', () => expect(safetensorsBodyStart(head(192n), 200)).toBe(200));
});

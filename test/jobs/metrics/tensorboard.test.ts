/**
 * The TensorBoard metrics reader against event files written by the kohya double's writer
 * (test/doubles/kohya/tfrecord.ts), by the kohya double itself while it runs, and against hand-built bytes:
 * tensor-style scalars, torn tails, damage, huge declared lengths, symlinks, and byte-mutation properties.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../../src/core/errors.ts';
import { crc32c, maskedCrc32c } from '../../../src/jobs/metrics/tensorboard/crc32c.ts';
import { decodeEvent } from '../../../src/jobs/metrics/tensorboard/event-proto.ts';
import { readEventFile, type ByteSource } from '../../../src/jobs/metrics/tensorboard/read-event-file.ts';
import { readTensorboardMetrics, type TensorboardBatch } from '../../../src/jobs/metrics/tensorboard/read-tensorboard-metrics.ts';
import { TENSORBOARD_CORRUPT, scanTfRecords } from '../../../src/jobs/metrics/tensorboard/tfrecord.ts';
import type { MetricPoint, MetricsCursor } from '../../../src/training/engines/engine.ts';
import { prepareKohyaRun } from '../../../src/training/engines/kohya/launch.ts';
import { kohyaDoubleEngine, writePythonStandIn } from '../../doubles/kohya/launcher.ts';
import * as double from '../../doubles/kohya/tfrecord.ts';

let root: string;
let counter = 0;
beforeAll(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), 'lorasmith-tb-')));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function freshDir(name: string): Promise<string> {
  const dir = path.join(root, `${name}-${counter++}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

// ---- hand-built protobuf (what torch.utils.tensorboard writes that the double's encoder does not) --------

function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const key = (field: number, wire: number): number[] => varint((field << 3) | wire);
const bytesField = (field: number, payload: ArrayLike<number>): number[] => [...key(field, 2), ...varint(payload.length), ...Array.from(payload)];
const utf8 = (text: string): number[] => [...Buffer.from(text, 'utf8')];
function f32(value: number): number[] {
  const b = Buffer.alloc(4);
  b.writeFloatLE(value);
  return [...b];
}
function f64(value: number): number[] {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return [...b];
}

/** A Summary.Value with a tensor (field 8): dtype, optional shape dims, then the given tensor fields. */
function tensorValue(tag: string, dtype: number, body: number[], dims: number[] = []): number[] {
  const shape = dims.flatMap((size) => bytesField(2, key(1, 0).concat(varint(size))));
  const tensor = [...key(1, 0), ...varint(dtype), ...bytesField(2, shape), ...body];
  // Plugin metadata as torch writes it (plugin_data.plugin_name = "scalars"): decoded past, not needed.
  const metadata = bytesField(1, bytesField(1, utf8('scalars')));
  return bytesField(1, [...bytesField(1, utf8(tag)), ...bytesField(8, tensor), ...bytesField(9, metadata)]);
}
function simpleValue(tag: string, value: number): number[] {
  return bytesField(1, [...bytesField(1, utf8(tag)), ...key(2, 5), ...f32(value)]);
}
function eventBytes(wallTime: number, step: number, values: number[][]): Uint8Array {
  return Uint8Array.from([...key(1, 1), ...f64(wallTime), ...key(2, 0), ...varint(step), ...bytesField(5, values.flat())]);
}

/** A ByteSource over memory that fails the test if asked for a byte outside the file. */
function memorySource(bytes: Uint8Array): ByteSource & { reads: Array<[number, number]> } {
  const reads: Array<[number, number]> = [];
  return {
    size: bytes.length,
    reads,
    read: async (position, length) => {
      reads.push([position, length]);
      if (!(Number.isSafeInteger(position) && Number.isSafeInteger(length) && position >= 0 && length >= 0 && position + length <= bytes.length)) {
        throw new Error(`read outside the file: ${position}+${length} of ${bytes.length}`);
      }
      return bytes.slice(position, position + length);
    },
  };
}

const KOHYA_STEP_TAGS = ['loss/current', 'loss/average', 'lr/unet', 'lr/textencoder'] as const;

/** The kohya layout, written by the double's EventFileWriter: returns the logging folder and the file. */
async function kohyaLogs(steps: number, options: { prefix?: string; stamp?: string; logDir?: string } = {}): Promise<{ logDir: string; file: string; writer: double.EventFileWriter; expected: MetricPoint[] }> {
  const logDir = options.logDir ?? (await freshDir('logs'));
  const tracker = path.join(logDir, `${options.prefix ?? ''}${options.stamp ?? '20260301120000'}`, 'network_train');
  await mkdir(tracker, { recursive: true });
  const writer = new double.EventFileWriter(path.join(tracker, `events.out.tfevents.1772366400.host.4242.0`), 1772366400.5);
  const expected: MetricPoint[] = [];
  for (let step = 1; step <= steps; step++) {
    const scalars = KOHYA_STEP_TAGS.map((tag, i) => ({ tag, value: tag.startsWith('lr/') ? 1e-4 : 0.1 / step + i * 0.001 }));
    const wallTime = 1772366401 + step;
    writer.scalars(step, scalars, wallTime);
    for (const s of scalars) expected.push({ tag: s.tag, step, value: Math.fround(s.value), wallTime });
  }
  return { logDir, file: path.relative(logDir, writer.path), writer, expected };
}

// ---------------------------------------------------------------------------------------------------------

describe('crc32c', () => {
  it('matches the CRC-32C check value and the double’s masked CRC', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => maskedCrc32c(bytes) === double.maskedCrc32c(bytes)));
  });
});

describe('readTensorboardMetrics over the kohya layout', () => {
  it('reads loss/current, loss/average and lr/* per step, then only what was appended', async () => {
    const { logDir, file, writer, expected } = await kohyaLogs(5, { prefix: 'run-' });
    const first = await readTensorboardMetrics(logDir, {});
    expect(first.problems).toEqual([]);
    expect(first.more).toBe(false);
    expect(first.points).toEqual(expected);
    expect(first.cursor).toEqual({ [file]: (await readFile(writer.path)).length });
    expect(file).toBe('run-20260301120000/network_train/events.out.tfevents.1772366400.host.4242.0');

    const again = await readTensorboardMetrics(logDir, first.cursor);
    expect(again.points).toEqual([]);
    expect(again.cursor).toEqual(first.cursor);

    // Epoch logging uses the epoch number as the step.
    writer.scalars(1, [{ tag: 'loss/epoch_average', value: 0.0625 }], 1772366500);
    const next = await readTensorboardMetrics(logDir, again.cursor);
    expect(next.points).toEqual([{ tag: 'loss/epoch_average', step: 1, value: 0.0625, wallTime: 1772366500 }]);
    expect(next.cursor[file]).toBe((await readFile(writer.path)).length);
  });

  it('reads every event file (a resumed run adds a second timestamp folder), keyed by relative path', async () => {
    const a = await kohyaLogs(2, { stamp: '20260301120000' });
    const b = await kohyaLogs(3, { stamp: '20260301130000', logDir: a.logDir });
    const batch = await readTensorboardMetrics(a.logDir, {});
    expect(batch.points).toEqual([...a.expected, ...b.expected]);
    expect(Object.keys(batch.cursor).sort()).toEqual([a.file, b.file].sort());
  });

  it('a logging folder that does not exist yet → an empty batch, the cursor unchanged', async () => {
    const cursor = { 'x/events.out.tfevents.1': 40 };
    expect(await readTensorboardMetrics(path.join(root, 'no-such-dir'), cursor)).toEqual({ points: [], cursor, problems: [], more: false });
  });

  it('bounded work: a small budget takes several calls, each near the budget, and loses nothing', async () => {
    const { logDir, expected, writer } = await kohyaLogs(60);
    const size = (await readFile(writer.path)).length;
    const all: MetricPoint[] = [];
    let cursor: MetricsCursor = {};
    let calls = 0;
    let batch: TensorboardBatch;
    do {
      batch = await readTensorboardMetrics(logDir, cursor, { budgetBytes: 600 });
      expect(batch.problems).toEqual([]);
      all.push(...batch.points);
      // Each call reads at most the budget plus one whole record (≈ 130 bytes here).
      const advanced = (Object.values(batch.cursor)[0] ?? 0) - (Object.values(cursor)[0] ?? 0);
      expect(advanced).toBeLessThanOrEqual(600 + 200);
      cursor = batch.cursor;
      calls++;
    } while (batch.more && calls < 100);
    expect(calls).toBeGreaterThanOrEqual(Math.floor(size / 800));
    expect(all).toEqual(expected);
  });
});

describe('scalars the double’s writer does not produce', () => {
  it('0-d DT_FLOAT / DT_DOUBLE tensors (add_scalar new_style), tensor_content, [1]-shaped; non-scalars skipped', async () => {
    const logDir = await freshDir('tensor');
    const record = eventBytes(1700000000.25, 7, [
      tensorValue('loss/current', 1, bytesField(5, f32(0.5))), // packed float_val
      tensorValue('lr/unet', 2, bytesField(6, f64(1.5e-4))), // packed double_val
      tensorValue('loss/average', 1, [...key(5, 5), ...f32(0.25)]), // unpacked float_val
      tensorValue('content/float', 1, bytesField(4, f32(2.5))),
      tensorValue('content/double', 2, bytesField(4, f64(3.25)), [1]),
      tensorValue('vector', 1, bytesField(5, [...f32(1), ...f32(2)]), [2]), // two elements: not a scalar
      tensorValue('text', 7, bytesField(8, utf8('hello'))), // DT_STRING
      bytesField(1, [...bytesField(1, utf8('image')), ...bytesField(4, [8, 1, 16, 1])]), // an image summary
      simpleValue('simple', -1.5),
    ]);
    writeFileSync(path.join(logDir, 'events.out.tfevents.1.host'), double.frameRecord(record));
    const batch = await readTensorboardMetrics(logDir, {});
    expect(batch.problems).toEqual([]);
    expect(batch.points.map((p) => [p.tag, p.value])).toEqual([
      ['loss/current', 0.5],
      ['lr/unet', 1.5e-4],
      ['loss/average', 0.25],
      ['content/float', 2.5],
      ['content/double', 3.25],
      ['simple', -1.5],
    ]);
    expect(batch.points.every((p) => p.step === 7 && p.wallTime === 1700000000.25)).toBe(true);
  });

  it('NaN and ±Infinity values are left out of the points (JSON cannot carry them); a negative int64 step decodes', async () => {
    const data = eventBytes(1, -3, [simpleValue('nan', Number.NaN), simpleValue('inf', Number.POSITIVE_INFINITY), tensorValue('-inf', 2, bytesField(6, f64(Number.NEGATIVE_INFINITY))), simpleValue('one', 1)]);
    const event = decodeEvent(data, 'f', 0);
    expect(event.step).toBe(-3);
    expect(event.scalars.map((s) => s.tag)).toEqual(['nan', 'inf', '-inf', 'one']);
    const read = await readEventFile({ source: memorySource(double.frameRecord(data)), offset: 0, where: 'f', budgetBytes: 1 << 20, maxRecordBytes: 1 << 20 });
    expect(read.points).toEqual([{ tag: 'one', step: -3, value: 1, wallTime: 1 }]);
    expect(decodeEvent(eventBytes(1, 2 ** 40 + 5, []), 'f', 0).step).toBe(2 ** 40 + 5);
    // No wall_time recorded → no wallTime on the point.
    const bare = await readEventFile({ source: memorySource(double.frameRecord(eventBytes(0, 4, [simpleValue('x', 2)]))), offset: 0, where: 'f', budgetBytes: 1 << 20, maxRecordBytes: 1 << 20 });
    expect(bare.points).toEqual([{ tag: 'x', step: 4, value: 2 }]);
  });
});

describe('torn tails, damage and huge lengths', () => {
  it('a record cut anywhere at the end is "not yet"; the cursor waits before it and the rest is read later', async () => {
    const logDir = await freshDir('torn');
    const file = path.join(logDir, 'events.out.tfevents.2.host');
    const head = Buffer.concat([double.frameRecord(double.encodeEvent({ wallTime: 1, fileVersion: 'brain.Event:2' })), double.frameRecord(double.encodeEvent({ wallTime: 2, step: 1, scalars: [{ tag: 'loss/current', value: 0.5 }] }))]);
    const last = double.frameRecord(double.encodeEvent({ wallTime: 3, step: 2, scalars: [{ tag: 'loss/current', value: 0.25 }] }));
    for (let cut = 1; cut < last.length; cut++) {
      writeFileSync(file, Buffer.concat([head, last.subarray(0, cut)]));
      const partial = await readTensorboardMetrics(logDir, {});
      expect(partial.problems).toEqual([]);
      expect(partial.points.map((p) => [p.step, p.value])).toEqual([[1, 0.5]]);
      expect(partial.cursor).toEqual({ 'events.out.tfevents.2.host': head.length });
      appendFileSync(file, last.subarray(cut));
      const rest = await readTensorboardMetrics(logDir, partial.cursor);
      expect(rest.problems).toEqual([]);
      expect(rest.points.map((p) => [p.step, p.value])).toEqual([[2, 0.25]]);
      expect(rest.cursor).toEqual({ 'events.out.tfevents.2.host': head.length + last.length });
    }
  });

  it('a bad data CRC in the middle: the points before it, one problem, and the file stops there for good', async () => {
    const logDir = await freshDir('crc');
    const file = path.join(logDir, 'events.out.tfevents.3.host');
    const records = [1, 2, 3].map((step) => double.frameRecord(double.encodeEvent({ wallTime: step, step, scalars: [{ tag: 'loss/current', value: step }] })));
    const bytes = Buffer.concat(records);
    const badAt = (records[0] as Buffer).length;
    bytes[badAt + 14] = (bytes[badAt + 14] as number) ^ 0xff; // inside the second record's data
    writeFileSync(file, bytes);
    const batch = await readTensorboardMetrics(logDir, {});
    expect(batch.points.map((p) => p.step)).toEqual([1]);
    expect(batch.problems).toHaveLength(1);
    expect(batch.problems[0]).toMatchObject({ file: 'events.out.tfevents.3.host', offset: badAt, code: TENSORBOARD_CORRUPT });
    expect(batch.problems[0]?.message).toMatch(/events\.out\.tfevents\.3\.host is damaged at byte \d+: the record data does not match its checksum/);
    expect(batch.problems[0]?.hint).not.toBe('');
    expect(batch.cursor['events.out.tfevents.3.host']).toBe(-1 - badAt);

    appendFileSync(file, double.frameRecord(double.encodeEvent({ wallTime: 9, step: 9, scalars: [{ tag: 'loss/current', value: 9 }] })));
    const later = await readTensorboardMetrics(logDir, batch.cursor);
    expect(later).toEqual({ points: [], cursor: batch.cursor, problems: [], more: false });
  });

  it('a bad length CRC is damage too, and a record that is protobuf garbage under valid CRCs', async () => {
    const good = double.frameRecord(double.encodeEvent({ wallTime: 1, step: 1, scalars: [{ tag: 'a', value: 1 }] }));
    const badLength = Buffer.from(good);
    badLength[9] = (badLength[9] as number) ^ 1;
    const badRead = await readEventFile({ source: memorySource(badLength), offset: 0, where: 'f', budgetBytes: 1 << 20, maxRecordBytes: 1 << 20 });
    expect(badRead.corrupt?.message).toMatch(/record length does not match its checksum/);
    expect(badRead.offset).toBe(0);

    const garbage = double.frameRecord(Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2])); // field 1, length far past the end
    const read = await readEventFile({ source: memorySource(Buffer.concat([good, garbage])), offset: 0, where: 'f', budgetBytes: 1 << 20, maxRecordBytes: 1 << 20 });
    expect(read.points.map((p) => p.tag)).toEqual(['a']);
    expect(read.corrupt?.code).toBe(TENSORBOARD_CORRUPT);
    expect(read.corrupt?.message).toMatch(/does not decode/);
    expect(read.offset).toBe(good.length);
  });

  it('a huge declared length (valid CRC) is refused without allocating it; a large one within the limit waits', async () => {
    const header = (length: bigint): Buffer => {
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(length);
      const crc = Buffer.alloc(4);
      crc.writeUInt32LE(double.maskedCrc32c(len));
      return Buffer.concat([len, crc, Buffer.alloc(20)]);
    };
    for (const length of [2n ** 40n, 2n ** 64n - 1n, 17n * 1024n * 1024n]) {
      const source = memorySource(header(length));
      const read = await readEventFile({ source, offset: 0, where: 'f', budgetBytes: 1 << 20, maxRecordBytes: 16 * 1024 * 1024 });
      expect(read.corrupt?.message).toMatch(/a record of \d+ bytes is declared, more than the 16777216 bytes/);
      expect(Math.max(...source.reads.map(([, n]) => n))).toBeLessThanOrEqual(32);
    }
    // 10 MiB declared in a 32-byte file: the engine may still be writing it.
    const source = memorySource(header(10n * 1024n * 1024n));
    const read = await readEventFile({ source, offset: 0, where: 'f', budgetBytes: 1 << 20, maxRecordBytes: 16 * 1024 * 1024 });
    expect(read).toMatchObject({ points: [], offset: 0, more: false });
    expect(read.corrupt).toBeUndefined();
    expect(source.reads.every(([at, n]) => at + n <= 32)).toBe(true);
  });
});

describe('the logging folder is the engine’s: links and odd files', () => {
  it('never follows a symlinked file or folder out of the logging folder, and skips a FIFO without blocking', async () => {
    const outside = await kohyaLogs(3);
    const logDir = await freshDir('links');
    await symlink(path.join(outside.logDir, outside.file), path.join(logDir, 'events.out.tfevents.link'));
    await symlink(path.join(outside.logDir, '20260301120000'), path.join(logDir, '20260301120000'));
    execFileSync('mkfifo', [path.join(logDir, 'events.out.tfevents.fifo')]);
    const batch = await readTensorboardMetrics(logDir, {});
    expect(batch).toEqual({ points: [], cursor: {}, problems: [], more: false });
  });

  it('reads through a symlinked logging folder itself (the caller chose it) but nothing outside its real path', async () => {
    const { logDir, expected } = await kohyaLogs(2);
    const alias = path.join(await freshDir('alias'), 'logs');
    await symlink(logDir, alias);
    expect((await readTensorboardMetrics(alias, {})).points).toEqual(expected);
  });

  it('a file shorter than its cursor was replaced: reported once, then stopped', async () => {
    const { logDir, file } = await kohyaLogs(1);
    const batch = await readTensorboardMetrics(logDir, { [file]: 1_000_000 });
    expect(batch.problems.map((p) => [p.file, p.code])).toEqual([[file, 'tensorboard-file-refused']]);
    expect(batch.cursor[file]).toBe(-1 - 1_000_000);
    expect((await readTensorboardMetrics(logDir, batch.cursor)).problems).toEqual([]);
  });
});

describe('properties', () => {
  const scalarEvents = fc.array(
    fc.record({
      step: fc.integer({ min: 0, max: 1_000_000 }),
      scalars: fc.array(fc.record({ tag: fc.constantFrom('loss/current', 'loss/average', 'lr/unet', 'lr/textencoder 1 '), value: fc.float({ noNaN: true, noDefaultInfinity: true }) }), { maxLength: 5 }),
    }),
    { maxLength: 30 },
  );

  it('any chunk size and budget: reading in pieces gives exactly the points written, in order', async () => {
    await fc.assert(
      fc.asyncProperty(scalarEvents, fc.integer({ min: 1, max: 400 }), fc.integer({ min: 12, max: 300 }), async (events, budget, chunk) => {
        const bytes = Buffer.concat(events.map((e, i) => double.frameRecord(double.encodeEvent({ wallTime: 1000 + i, ...e }))));
        const expected = events.flatMap((e, i) => e.scalars.map((s) => ({ tag: s.tag, step: e.step, value: Math.fround(s.value), wallTime: 1000 + i })));
        const got: MetricPoint[] = [];
        let offset = 0;
        for (let calls = 0; calls <= bytes.length; calls++) {
          const read = await readEventFile({ source: memorySource(bytes), offset, where: 'f', budgetBytes: budget, maxRecordBytes: 1 << 20, chunkBytes: chunk });
          expect(read.corrupt).toBeUndefined();
          got.push(...read.points);
          offset = read.offset;
          if (!read.more) break;
        }
        expect(offset).toBe(bytes.length);
        expect(got).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  /** A valid file of a few records to mutate. */
  const validFile = Buffer.concat([
    double.frameRecord(double.encodeEvent({ wallTime: 1, fileVersion: 'brain.Event:2' })),
    double.frameRecord(eventBytes(2, 1, [tensorValue('loss/current', 1, bytesField(5, f32(0.5))), simpleValue('lr/unet', 1e-4)])),
    double.frameRecord(double.encodeEvent({ wallTime: 3, step: 2, scalars: [{ tag: 'loss/average', value: 0.4 }] })),
  ]);

  const validRecords = double.readRecords(validFile).records;
  const validStarts = validRecords.map((_, i) => validRecords.slice(0, i).reduce((sum, r) => sum + 16 + r.length, 0));
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    // A new length with a matching CRC, so the framing trusts it.
    fc.record({ kind: fc.constant('length' as const), record: fc.nat(2), length: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
  );

  function mutate(bytes: Buffer, m: typeof mutation extends fc.Arbitrary<infer T> ? T : never): Buffer {
    const out = Buffer.from(bytes);
    switch (m.kind) {
      case 'flip': {
        const at = m.at % out.length;
        out[at] = (out[at] as number) ^ m.xor;
        return out;
      }
      case 'truncate':
        return out.subarray(0, m.at % out.length);
      case 'insert': {
        const at = m.at % out.length;
        return Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
      }
      case 'length': {
        const at = validStarts[m.record] ?? 0;
        if (at + 12 > out.length) return out;
        out.writeBigUInt64LE(m.length, at);
        out.writeUInt32LE(double.maskedCrc32c(out.subarray(at, at + 8)), at + 8);
        return out;
      }
    }
  }

  it('byte mutations of a valid file: only the reader’s own error, and no read (allocation) beyond the file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 4096 }), async (mutations, budget) => {
        const bytes = mutations.reduce<Buffer>((b, m) => (b.length === 0 ? b : mutate(b, m)), validFile);
        const source = memorySource(bytes);
        // memorySource throws a plain Error on any read outside the file: that would fail here.
        const read = await readEventFile({ source, offset: 0, where: 'f', budgetBytes: budget, maxRecordBytes: 1 << 20 });
        if (read.corrupt !== undefined) expect(read.corrupt.code).toBe(TENSORBOARD_CORRUPT);
        expect(read.offset).toBeLessThanOrEqual(bytes.length);
        expect(source.reads.every(([at, n]) => at + n <= bytes.length)).toBe(true);
        try {
          const scan = scanTfRecords({ bytes, offset: 0, where: 'f', maxRecordBytes: 1 << 20 });
          for (const record of scan.records) decodeEvent(record.data, 'f', record.offset);
        } catch (error) {
          expect(isLorasmithError(error) && error.code === TENSORBOARD_CORRUPT, String(error)).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('garbage payloads under valid CRCs: the decoder returns or throws its own error, nothing else', () => {
    const payload = double.encodeEvent({ wallTime: 5, step: 3, scalars: [{ tag: 'loss/current', value: 0.5 }] });
    const tensorPayload = eventBytes(2, 1, [tensorValue('loss/current', 1, bytesField(5, f32(0.5)), [1])]);
    fc.assert(
      fc.property(fc.constantFrom(payload, tensorPayload), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat(), (base, edits, cut) => {
        const data = Uint8Array.from(base);
        for (const [at, value] of edits) data[at % data.length] = value;
        for (const bytes of [data, data.subarray(0, cut % (data.length + 1))]) {
          try {
            const event = decodeEvent(bytes, 'f', 0);
            expect(Array.isArray(event.scalars)).toBe(true);
          } catch (error) {
            expect(isLorasmithError(error) && error.code === TENSORBOARD_CORRUPT, String(error)).toBe(true);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('the kohya double writing while the reader polls', () => {
  it('a real run: polled mid-write, the points add up to exactly what the double wrote', async () => {
    const base = await freshDir('double');
    const engineDir = path.join(base, 'engine');
    await writePythonStandIn(engineDir);
    const datasetDir = path.join(base, 'datasets', 'char', 'character');
    await mkdir(datasetDir, { recursive: true });
    for (const i of [0, 1, 2]) {
      await sharp({ create: { width: 512, height: 512, channels: 3, background: { r: 40 * i, g: 90, b: 200 } } })
        .png()
        .toFile(path.join(datasetDir, `img${i}.png`));
      await writeFile(path.join(datasetDir, `img${i}.txt`), 'sks woman');
    }
    const launch = await prepareKohyaRun(
      {
        script: 'train_network.py',
        args: { pretrained_model_name_or_path: '/models/sd15.safetensors', network_module: 'networks.lora', network_dim: 4, network_alpha: 2, learning_rate: 0.0001, mixed_precision: 'fp16', max_train_epochs: 3, output_name: 'dbl', seed: 1 },
        general: { caption_extension: '.txt' },
        datasets: [{ resolution: 512, batch_size: 1, subsets: [{ name: 'character', source_dir: datasetDir, num_repeats: 2 }] }],
      },
      { runDir: path.join(base, 'runs', 'job-1'), engine: kohyaDoubleEngine(engineDir) },
    );
    const [command, ...args] = launch.argv;
    const child = spawn(command ?? '', args, { cwd: launch.cwd, env: { ...launch.env, KOHYA_DOUBLE_SPEED: '60' }, shell: false, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let running = true;
    void exited.then(() => (running = false));

    const logDir = launch.layout.loggingDir;
    const points: MetricPoint[] = [];
    let cursor: MetricsCursor = {};
    let polls = 0;
    let pollsWithPoints = 0;
    while (running) {
      const batch = await readTensorboardMetrics(logDir, cursor);
      expect(batch.problems).toEqual([]);
      points.push(...batch.points);
      if (batch.points.length > 0) pollsWithPoints++;
      cursor = batch.cursor;
      polls++;
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    expect(await exited, stderr).toBe(0);
    const last = await readTensorboardMetrics(logDir, cursor);
    points.push(...last.points);
    expect(pollsWithPoints).toBeGreaterThan(1); // it really was read while growing

    const [stamp] = await readdir(logDir);
    const tracker = path.join(logDir, stamp ?? '', 'network_train');
    const [eventFile] = await readdir(tracker);
    const written = double.readRecords(await readFile(path.join(tracker, eventFile ?? ''))).records.map(double.decodeEvent);
    const expected = written.flatMap((e) => e.scalars.map((s) => ({ tag: s.tag, step: e.step, value: s.value, wallTime: e.wallTime })));
    expect(points).toEqual(expected);
    expect(new Set(points.map((p) => p.tag))).toEqual(new Set(['loss/current', 'loss/average', 'loss/epoch_average', 'lr/unet', 'lr/textencoder']));
    expect(last.cursor).toEqual({ [`${stamp}/network_train/${eventFile}`]: (await readFile(path.join(tracker, eventFile ?? ''))).length });
    expect(polls).toBeGreaterThan(2);
  });
});

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import { validateSafetensorsFile } from '../safetensors/index.ts';
import type { ByteSource } from './byte-source.ts';
import { bufferSource } from './byte-source.ts';
import { convertSource, convertToSafetensors } from './convert.ts';
import { scanModelSource } from './scan-model-file.ts';
import { buildZip, readZipFixture } from './testing.ts';

const FIXTURES = new URL('../../../test/fixtures/torch/', import.meta.url);
const fixturePath = (name: string): string => fileURLToPath(new URL(name, FIXTURES));
const expected = JSON.parse(readFileSync(fixturePath('expected.json'), 'utf8')) as Record<string, Record<string, { dtype: string; shape: number[]; hex: string }>>;
const work = mkdtempSync(path.join(tmpdir(), 'lorasmith-convert-'));
let counter = 0;
const outPath = (): string => path.join(work, `out-${counter++}.safetensors`);

afterAll(() => rmSync(work, { recursive: true, force: true }));

async function tensorsOf(file: string): Promise<Record<string, { dtype: string; shape: number[]; hex: string }>> {
  const check = await validateSafetensorsFile({ path: file });
  if (!check.ok) throw new Error(check.reason.message);
  const bytes = readFileSync(file);
  const out: Record<string, { dtype: string; shape: number[]; hex: string }> = {};
  for (const tensor of check.header.tensors) {
    out[tensor.name] = {
      dtype: tensor.dtype,
      shape: tensor.shape,
      hex: bytes.subarray(check.header.dataStart + tensor.begin, check.header.dataStart + tensor.end).toString('hex'),
    };
  }
  return out;
}

async function refusal(run: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> | undefined }> {
  try {
    await run;
  } catch (error) {
    if (isLorasmithError(error)) return { code: error.code, message: error.message, details: error.details };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('PKL-R15: convert real torch.save output bit for bit', () => {
  it.each([
    ['state-dict.pt', 'state-dict'],
    ['state-dict-legacy.pt', 'state-dict'],
    ['arange4.pt', 'arange4'],
    ['arange4-legacy.pt', 'arange4'],
    ['lora v2 (1).pt', 'arange4'],
  ])('%s: every tensor (bf16, strided views, shared storage, bool, complex) is bit-identical', async (name, key) => {
    const output = outPath();
    const result = await convertToSafetensors({ inputPath: fixturePath(name), outputPath: output });
    expect(await tensorsOf(output)).toEqual(expected[key]);
    expect(result.tensorCount).toBe(Object.keys(expected[key] ?? {}).length);
  });

  it('PKL-A35/A40: tensor w holds exactly the 16 bytes of data/0', async () => {
    const output = outPath();
    await convertToSafetensors({ inputPath: fixturePath('arange4.pt'), outputPath: output });
    const zip = await readZipFixture(readFileSync(fixturePath('arange4.pt')));
    const data0 = zip.find((entry) => entry.name === 'arange4/data/0')?.data ?? new Uint8Array();
    expect((await tensorsOf(output)).w).toEqual({ dtype: 'F32', shape: [4], hex: Buffer.from(data0).toString('hex') });
  });

  it('PKL-R07a: the Lightning-shaped checkpoint converts its state_dict only, with warnings', async () => {
    const output = outPath();
    const result = await convertToSafetensors({ inputPath: fixturePath('lightning-sd.ckpt'), outputPath: output });
    expect(await tensorsOf(output)).toEqual(expected.lightning);
    expect(result.warnings.map((warning) => warning.code)).toEqual(['pickle.lightning_exception', 'pickle.lightning_exception', 'pickle.lightning_exception']);
  });

  it('PKL-A41: a CRC-less save converts', async () => {
    const crcless = buildZip({ entries: (await readZipFixture(readFileSync(fixturePath('arange4.pt')))).map((entry) => ({ ...entry, crc32: 0 })) });
    const output = outPath();
    await convertSource({ source: bufferSource(crcless), outputPath: output });
    expect(await tensorsOf(output)).toEqual(expected.arange4);
  });
});

describe('PKL-R15: what convert refuses', () => {
  it('PKL-R04: a raw pickle has nothing to convert, and says so', async () => {
    for (const name of ['dict-p0.pkl', 'dict-p4.pkl']) {
      const output = outPath();
      const error = await refusal(convertToSafetensors({ inputPath: fixturePath(name), outputPath: output }));
      expect(error.code).toBe('convert.nothing_to_convert');
      expect(error.message).toBe('a raw pickle holds no tensor data, so there is nothing to convert');
      expect(existsSync(output)).toBe(false);
    }
  });

  it('an unsafe file is refused and nothing is written', async () => {
    const input = path.join(work, 'a02.ckpt');
    writeFileSync(input, Buffer.from('80048c05706f736978948c0673797374656d94938c02696485522e', 'hex'));
    const output = outPath();
    const error = await refusal(convertToSafetensors({ inputPath: input, outputPath: output }));
    expect(error.code).toBe('convert.unsafe');
    expect(error.message).toContain('posix.system');
    expect(existsSync(output)).toBe(false);
  });

  it('PKL-R05: a flipped byte inside data/<key> fails the CRC check at convert time', async () => {
    const bytes = Uint8Array.from(readFileSync(fixturePath('arange4.pt')));
    const data0 = (await readZipFixture(bytes)).find((entry) => entry.name === 'arange4/data/0')?.data ?? new Uint8Array();
    const at = Buffer.from(bytes).indexOf(Buffer.from(data0));
    bytes[at] = (bytes[at] as number) ^ 0x01;
    const output = outPath();
    const error = await refusal(convertSource({ source: bufferSource(bytes), outputPath: output }));
    expect(error).toMatchObject({ code: 'convert.invalid', details: { code: 'zip.crc_mismatch' } });
    expect(existsSync(output)).toBe(false);
  });

  it('a read failing midway leaves no output file and no temporary file', async () => {
    const bytes = readFileSync(fixturePath('state-dict.pt'));
    const inner = bufferSource(bytes);
    const storages = (await scanModelSource({ source: inner })).checkpoint?.storages ?? [];
    const last = storages.at(-1)?.offset;
    let seen = 0;
    // Fail on the second read of the last storage: after the CRC pass, while the writer copies tensors.
    const failing: ByteSource = {
      size: inner.size,
      read: async (offset, length) => {
        if (offset === last && ++seen === 2) throw new Error('disk vanished');
        return inner.read(offset, length);
      },
    };
    const dir = mkdtempSync(path.join(work, 'fail-'));
    const output = path.join(dir, 'out.safetensors');
    await expect(convertSource({ source: failing, outputPath: output })).rejects.toThrow();
    expect(seen).toBe(2);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a conversion killed midway leaves no output file', async () => {
    const dir = mkdtempSync(path.join(work, 'kill-'));
    const output = path.join(dir, 'out.safetensors');
    const script = path.join(dir, 'child.mjs');
    const here = (name: string): string => pathToFileURL(fileURLToPath(new URL(name, import.meta.url))).href;
    // The child hangs on its second read of the storage (the first is the CRC check), i.e. after the
    // writer has created its temporary file; the test then kills it.
    writeFileSync(
      script,
      `import { openFileSource } from ${JSON.stringify(here('./byte-source.ts'))};
import { convertSource } from ${JSON.stringify(here('./convert.ts'))};
import { scanModelSource } from ${JSON.stringify(here('./scan-model-file.ts'))};
setInterval(() => {}, 1000);
const file = await openFileSource(${JSON.stringify(fixturePath('arange4.pt'))});
const scan = await scanModelSource({ source: file });
const storage = scan.checkpoint.storages[0].offset;
let seen = 0;
const source = { size: file.size, read: (offset, length) => (offset === storage && ++seen === 2 ? new Promise(() => {}) : file.read(offset, length)) };
await convertSource({ source, outputPath: ${JSON.stringify(output)} });
`,
    );
    const child = spawn(process.execPath, [script], { stdio: 'ignore' });
    const started = Date.now();
    while (!readdirSync(dir).some((name) => name.endsWith('.tmp'))) {
      if (Date.now() - started > 15_000) throw new Error('the child never started writing');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(existsSync(output)).toBe(false);
  });
});

describe('PKL-R01: the scanner and reader never deserialize or spawn', () => {
  it('no source file under formats/pickle or formats/torch imports child_process or calls a Python loader', () => {
    for (const folder of ['../pickle/', './']) {
      const dir = fileURLToPath(new URL(folder, import.meta.url));
      for (const name of readdirSync(dir).filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))) {
        const source = readFileSync(path.join(dir, name), 'utf8');
        expect(source, name).not.toMatch(/child_process|pickle\.loads?\(|torch\.load\(|joblib\.load\(|allow_pickle=True/);
      }
    }
  });
});

/**
 * Pulling a 2 GiB file from the loopback HTTPS hub double, verification included (`downloadToQuarantine`:
 * SHA-256 while streaming, size cap, quarantine), against `curl -o` of the same URL followed by
 * `openssl dgst -sha256`, in the same run, alternating; medians. Target: ratio ≤ 1.0 (verifying while
 * streaming must beat download-then-hash).
 *
 *   node bench/pull.bench.ts [runs]
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { buildProviderPolicy } from '../src/hub/build-provider-policy.ts';
import { downloadToQuarantine } from '../src/hub/download-file.ts';

const SIZE = 2 * 1024 ** 3;
const runs = Number(process.argv[2] ?? 3);
const run = promisify(execFile);

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const dir = await mkdtemp(path.join(tmpdir(), 'lorasmith-pull-bench-'));
let server: ReturnType<typeof spawn> | undefined;
try {
  // A sparse 2 GiB file with a header, served from disk with a Content-Length and an ETag.
  const source = path.join(dir, 'model.safetensors');
  const handle = await open(source, 'w');
  await handle.write(Buffer.from('lorasmith pull bench'), 0, 20, 0);
  await handle.truncate(SIZE);
  await handle.close();
  const hash = createHash('sha256');
  await pipeline(createReadStream(source), hash);
  const sha256 = hash.digest('hex');
  // The server runs in its own process, as a real hub would, so its TLS work is not on the client's thread.
  server = spawn(process.execPath, [path.join(import.meta.dirname, 'support', 'serve-file.ts'), source], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: server.stdout! }), 'line')) as [string];
  const { port, ca } = JSON.parse(line) as { port: number; ca: string };
  const origin = `https://hub.test:${port}`;
  const url = `${origin}/big/model.safetensors`;
  const caFile = path.join(dir, 'ca.pem');
  await writeFile(caFile, ca);
  const lookup = async () => [{ address: '127.0.0.1', family: 4 as const }];
  const policy = buildProviderPolicy({ provider: 'hf', env: { LORASMITH_HF_ENDPOINT: origin } });

  const ours: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < runs; i++) {
    const quarantine = path.join(dir, `q${i}`);
    ours.push(
      await timed(async () => {
        const result = await downloadToQuarantine({ url, policy, expected: { size: SIZE, sha256 }, quarantineDir: quarantine, name: 'model.safetensors', lookup, ca: Buffer.from(ca) });
        if (!result.verified) throw new Error('not verified');
      }),
    );
    await rm(quarantine, { recursive: true, force: true });
    const out = path.join(dir, 'curl.bin');
    baseline.push(
      await timed(async () => {
        await run('curl', ['-s', '-f', '--cacert', caFile, '--resolve', `hub.test:${port}:127.0.0.1`, '-o', out, url]);
        const { stdout } = await run('openssl', ['dgst', '-sha256', out]);
        if (!stdout.includes(sha256)) throw new Error('curl + openssl hash mismatch');
      }),
    );
    await rm(out, { force: true });
  }
  const a = median(ours);
  const b = median(baseline);
  console.log(`file 2 GiB over loopback HTTPS, ${runs} alternating runs, medians`);
  console.log(`downloadToQuarantine (hash while streaming): ${a.toFixed(2)} s (${(SIZE / 1024 ** 2 / a).toFixed(0)} MiB/s)`);
  console.log(`curl -o then openssl dgst -sha256:          ${b.toFixed(2)} s (${(SIZE / 1024 ** 2 / b).toFixed(0)} MiB/s)`);
  console.log(`ratio ${(a / b).toFixed(2)} (target ≤ 1.0: ${a / b <= 1 ? 'met' : 'MISSED'})`);
} finally {
  server?.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
}

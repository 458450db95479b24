/**
 * Pulling a 2 GiB file from the loopback HTTPS hub double, verification included (`downloadToQuarantine`:
 * SHA-256 while streaming, size cap, quarantine, fsync), against `curl -o` of the same URL followed by
 * `openssl dgst -sha256`, in the same run. After one uncounted warm-up pair, each pair runs both, the
 * first of the two alternating from pair to pair; the verdict is the median of the pairs' ratios (target
 * ≤ 1.0: verifying while streaming must beat download-then-hash), and the ratio of the medians is
 * printed too. So is the double's CPU time per transfer for each side: on a 2-core machine the double
 * shares the cores with the client, which a remote hub would not.
 *
 *   node bench/pull.bench.ts [pairs]
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { buildProviderPolicy } from '../src/hub/build-provider-policy.ts';
import { downloadToQuarantine } from '../src/hub/download-file.ts';

const SIZE = 2 * 1024 ** 3;
const pairs = Number(process.argv[2] ?? 5);
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

  /** CPU seconds (user + system) the double's process has used so far. */
  const serverCpu = async (): Promise<number> => {
    const stat = await readFile(`/proc/${server?.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
  const pullOurs = async (i: number): Promise<void> => {
    const quarantine = path.join(dir, `q${i}`);
    const result = await downloadToQuarantine({ url, policy, expected: { size: SIZE, sha256 }, quarantineDir: quarantine, name: 'model.safetensors', lookup, ca: Buffer.from(ca) });
    if (!result.verified) throw new Error('not verified');
  };
  const pullCurl = async (): Promise<void> => {
    const out = path.join(dir, 'curl.bin');
    await run('curl', ['-s', '-f', '--cacert', caFile, '--resolve', `hub.test:${port}:127.0.0.1`, '-o', out, url]);
    const { stdout } = await run('openssl', ['dgst', '-sha256', out]);
    if (!stdout.includes(sha256)) throw new Error('curl + openssl hash mismatch');
  };
  const sides = {
    ours: { pull: pullOurs, seconds: [] as number[], serverSeconds: [] as number[] },
    curl: { pull: pullCurl, seconds: [] as number[], serverSeconds: [] as number[] },
  };
  // Pair -1 is a warm-up, not counted (the first pull in a process also compiles and starts the worker).
  for (let i = -1; i < pairs; i++) {
    for (const side of i % 2 === 0 ? [sides.ours, sides.curl] : [sides.curl, sides.ours]) {
      const before = await serverCpu();
      const seconds = await timed(() => side.pull(i));
      const serverSeconds = (await serverCpu()) - before;
      if (i >= 0) {
        side.seconds.push(seconds);
        side.serverSeconds.push(serverSeconds);
      }
      // Outside the timing: what each side left behind.
      await rm(path.join(dir, `q${i}`), { recursive: true, force: true });
      await rm(path.join(dir, 'curl.bin'), { force: true });
    }
  }
  const ratios = sides.ours.seconds.map((seconds, i) => seconds / (sides.curl.seconds[i] ?? Number.NaN));
  const a = median(sides.ours.seconds);
  const b = median(sides.curl.seconds);
  const paired = median(ratios);
  const list = (values: number[]): string => values.map((value) => value.toFixed(2)).join(' ');
  console.log(`file 2 GiB over loopback HTTPS, ${pairs} pairs (first of each pair alternating), medians`);
  console.log(`downloadToQuarantine (hash while streaming): ${a.toFixed(2)} s (${(SIZE / 1024 ** 2 / a).toFixed(0)} MiB/s)  runs ${list(sides.ours.seconds)}  double's CPU ${median(sides.ours.serverSeconds).toFixed(2)} s`);
  console.log(`curl -o then openssl dgst -sha256:          ${b.toFixed(2)} s (${(SIZE / 1024 ** 2 / b).toFixed(0)} MiB/s)  runs ${list(sides.curl.seconds)}  double's CPU ${median(sides.curl.serverSeconds).toFixed(2)} s`);
  console.log(`pair ratios ${list(ratios)}; ratio of medians ${(a / b).toFixed(2)}`);
  console.log(`paired ratio (median) ${paired.toFixed(2)} (target ≤ 1.0: ${paired <= 1 ? 'met' : 'MISSED'})`);
} finally {
  server?.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
}

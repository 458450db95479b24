/**
 * The shim's record and the server-side functions, with real shims: the exit status stays in status.json
 * after the shim is gone; a shim started by another process (which then exits) is found, read, followed and
 * stopped from its run folder alone; log segments rotate without losing anything the server has not parsed,
 * and secrets are redacted in them; a sandbox that cannot start is recorded as such; the files `prepare`
 * names are snapshotted per save, planted links and FIFOs are neither snapshotted nor collected; the KOHYA
 * ENGINE DOUBLE trains a LoRA under bwrap end to end; a second shim for a run never starts; and a shim that is
 * killed takes its sandbox with it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectArtifacts } from '../../src/jobs/shim/collect-artifacts.ts';
import { isProcessAlive, isShimAlive, requestStop, SHIM_MAIN, startShim, waitForShimExit } from '../../src/jobs/shim/client.ts';
import { writeParsedCursor } from '../../src/jobs/shim/parsed-cursor.ts';
import { LOG_START, type LogCursor, type ShimStatus } from '../../src/jobs/shim/protocol.ts';
import { readLogChunk } from '../../src/jobs/shim/read-log-chunk.ts';
import { readShimStatus } from '../../src/jobs/shim/status-file.ts';
import { prepareKohyaRun } from '../../src/training/engines/kohya/launch.ts';
import { kohyaDoubleEngine, writePythonStandIn } from '../doubles/kohya/launcher.ts';
import { CIVITAI_CANARY, HF_CANARY, logText, makeRoot, makeRun, probeSpec, processesWith, REPO, removeRoot, waitFor } from './shim-fixture.ts';

let root: string;
beforeAll(async () => {
  root = await makeRoot();
});
afterAll(async () => {
  await removeRoot(root);
});

async function readAll(runDir: string, from: LogCursor, maxBytes: number): Promise<{ text: string; cursor: LogCursor }> {
  let cursor = from;
  let text = '';
  for (;;) {
    const chunk = await readLogChunk(runDir, cursor, maxBytes);
    if (chunk.text === '') return { text, cursor };
    text += chunk.text;
    cursor = chunk.cursor;
  }
}

const segments = (runDir: string): number[] =>
  readdirSync(path.join(runDir, 'logs'))
    .map((name) => Number(name.slice(0, 6)))
    .sort((a, b) => a - b);

describe('the recorded exit', () => {
  it('status.json tells the exit code after the shim is gone', async () => {
    const run = await makeRun(root);
    const shim = await startShim({ runDir: run.runDir, spec: probeSpec(run, 'bwrap', ['exit', '7']) });
    const final = (await waitForShimExit({ runDir: run.runDir, timeoutMs: 60_000 })) as ShimStatus;
    await waitFor('the shim to be gone', () => !isProcessAlive(shim));
    const later = await readShimStatus(run.runDir);
    expect(later).toEqual(final);
    expect(later).toMatchObject({ shim, sandbox: 'bwrap', state: 'exited', exit: { code: 7, signal: null, reason: 'exited' } });
    expect(isShimAlive(later as ShimStatus)).toBe(false);
    expect(await requestStop(run.runDir)).toBe(false);
    expect(logText(run.runDir)).toBe('bye\nexiting on request\n');
  });

  it('a shim killed outright takes its sandbox with it; its status says it never recorded an exit', async () => {
    const run = await makeRun(root);
    const mark = '4242.4242';
    const shim = await startShim({ runDir: run.runDir, spec: probeSpec(run, 'bwrap', ['tree', mark]) });
    await waitFor('tree-ready', () => logText(run.runDir).includes('tree-ready'));
    process.kill(shim.pid, 'SIGKILL');
    await waitFor('nothing of the run left', () => processesWith(mark).length === 0);
    const status = (await readShimStatus(run.runDir)) as ShimStatus;
    expect(status.exit).toBeNull();
    expect(isShimAlive(status)).toBe(false);
  });
});

describe('server-side functions against a shim started by another process', () => {
  it('finds, reads, follows and stops it from the run folder alone', async () => {
    const run = await makeRun(root);
    const specFile = path.join(root, `${run.jobId}.spec.json`);
    await writeFile(specFile, JSON.stringify(probeSpec(run, 'bwrap', ['signals'])));
    const script = `const { startShim } = await import(${JSON.stringify(pathToFileURL(path.join(REPO, 'src/jobs/shim/client.ts')).href)});
      const { readFileSync } = await import('node:fs');
      const ref = await startShim({ runDir: process.env.RUN_DIR, spec: JSON.parse(readFileSync(process.env.SPEC_FILE, 'utf8')) });
      process.stdout.write(JSON.stringify(ref));`;
    const starter = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, RUN_DIR: run.runDir, SPEC_FILE: specFile }, encoding: 'utf8', timeout: 60_000 });
    expect(starter.status, starter.stderr).toBe(0);
    const ref = JSON.parse(starter.stdout) as { pid: number; startTicks: string };

    const status = (await readShimStatus(run.runDir)) as ShimStatus;
    expect(status.shim).toEqual(ref);
    expect(isShimAlive(status)).toBe(true);
    await waitFor('the engine line', () => logText(run.runDir).includes('ENGINE-TICKS'));
    const first = await readLogChunk(run.runDir, LOG_START, 1 << 20);
    expect(first.text).toMatch(/^ENGINE-TICKS \d+\n$/);
    expect(first.cursor).toEqual({ segment: 1, offset: Buffer.byteLength(first.text) });
    expect(await readLogChunk(run.runDir, first.cursor, 1 << 20)).toEqual({ text: '', cursor: first.cursor });

    expect(await requestStop(run.runDir)).toBe(true);
    const final = (await waitForShimExit({ runDir: run.runDir, timeoutMs: 60_000 })) as ShimStatus;
    expect(final.exit?.reason).toBe('stopped');
    expect((await readLogChunk(run.runDir, first.cursor, 1 << 20)).text).toBe('got SIGINT\ngot SIGTERM\n');
    await waitFor('the shim to be gone', () => !isShimAlive(final));
    expect(await requestStop(run.runDir)).toBe(false);
  });
});

describe('logs', () => {
  it('rotate by size, keep every segment the server has not parsed, and redact secrets', async () => {
    const run = await makeRun(root);
    await writeFile(path.join(run.workDir, 'echo.txt'), CIVITAI_CANARY);
    const spec = probeSpec(run, 'bwrap', ['spam', '200', '100', '--wait-go'], { logs: { segmentBytes: 2048, keepSegments: 2 } });
    await startShim({ runDir: run.runDir, spec });
    await waitFor('the first batch', () => logText(run.runDir).includes('line 200 '));
    const firstBatch = segments(run.runDir);
    // ~20 kB in 2 kB segments, nothing parsed yet: every segment is still there.
    expect(firstBatch.length).toBeGreaterThanOrEqual(10);
    expect(firstBatch).toEqual(Array.from({ length: firstBatch.length }, (_v, i) => i + 1));

    // The server parses up to the middle of segment 6 and records it; then the second batch rotates again.
    let parsed = '';
    let cursor: LogCursor = { ...LOG_START };
    while (cursor.segment < 6) {
      const chunk = await readLogChunk(run.runDir, cursor, 700);
      parsed += chunk.text;
      cursor = chunk.cursor;
    }
    await writeParsedCursor(run.runDir, cursor);
    await writeFile(path.join(run.workDir, 'go'), '');
    const final = await waitForShimExit({ runDir: run.runDir, timeoutMs: 60_000 });
    expect(final?.exit).toMatchObject({ code: 0, reason: 'exited' });
    const left = segments(run.runDir);
    expect(left[0]).toBe(cursor.segment);
    expect(left.at(-1)).toBeGreaterThan(firstBatch.at(-1) as number);
    const rest = await readAll(run.runDir, cursor, 5000);

    const expected = Array.from({ length: 400 }, (_v, k) => {
      const i = k + 1;
      if (i === 3) return 'token [REDACTED] in line 3\n';
      if (i === 4) return 'echo [REDACTED] in line 4\n';
      return `${`line ${i} `.padEnd(100, 'x')}\n`;
    }).join('');
    expect(parsed + rest.text).toBe(expected);
    const everything = readdirSync(path.join(run.runDir, 'logs')).map((name) => readFileSync(path.join(run.runDir, 'logs', name), 'utf8')).join('');
    expect(everything).not.toContain(CIVITAI_CANARY);
    expect(everything).not.toContain('hf_SpamCanary');
  });
});

describe('start failures', () => {
  it('a read-only path that does not exist: bwrap cannot set up, recorded as spawn-failed with its reason', async () => {
    const run = await makeRun(root);
    const spec = probeSpec(run, 'bwrap', ['exit', '0']);
    spec.sandbox.readOnly.push(path.join(root, 'no-such-model.safetensors'));
    await startShim({ runDir: run.runDir, spec });
    const final = await waitForShimExit({ runDir: run.runDir, timeoutMs: 60_000 });
    expect(final).toMatchObject({ engine: null, exit: { reason: 'spawn-failed', detail: expect.stringContaining("Can't find source path") } });
  });

  it('an interpreter that does not exist, under bwrap and unsandboxed', async () => {
    for (const mode of ['bwrap', 'unsandboxed'] as const) {
      const run = await makeRun(root);
      await startShim({ runDir: run.runDir, spec: probeSpec(run, mode, [], { argv: ['/nonexistent/venv/bin/python', '-E'] }) });
      const final = await waitForShimExit({ runDir: run.runDir, timeoutMs: 60_000 });
      expect(final?.exit).toMatchObject({ reason: 'spawn-failed', detail: expect.stringMatching(/ENOENT|No such file or directory/) });
    }
  });

  it('a secret from the store on the command line: startShim refuses before writing shim.json, and so would the shim', async () => {
    const run = await makeRun(root);
    const spec = probeSpec(run, 'bwrap', ['exit', CIVITAI_CANARY]);
    await expect(startShim({ runDir: run.runDir, spec })).rejects.toMatchObject({ code: 'shim-spec-invalid', message: "The run was refused: the engine's argument 3 carries a secret." });
    expect(existsSync(path.join(run.runDir, 'shim.json'))).toBe(false);
    // Defence in depth: a shim.json written by something else is refused by the shim itself.
    await writeFile(path.join(run.runDir, 'shim.json'), JSON.stringify(spec), { mode: 0o600 });
    const shim = spawnSync(process.execPath, [SHIM_MAIN, run.runDir], { encoding: 'utf8', timeout: 60_000, env: { PATH: '/usr/bin:/bin' } });
    expect(shim.status).toBe(1);
    const status = await readShimStatus(run.runDir);
    expect(status).toMatchObject({ state: 'exited', sandboxProcess: null, exit: { reason: 'spawn-failed', detail: "the engine's argument 3 carries a secret" } });
    expect(readFileSync(path.join(run.runDir, 'status.json'), 'utf8')).not.toContain(CIVITAI_CANARY);
  });

  it('startShim refuses an invalid spec and a run that already has a shim; a second shim process exits without touching the run', async () => {
    const run = await makeRun(root);
    const bad = probeSpec(run, 'bwrap', ['exit', '0'], { env: { PATH: '/usr/bin', HF_TOKEN: HF_CANARY } });
    await expect(startShim({ runDir: run.runDir, spec: bad })).rejects.toMatchObject({ code: 'shim-spec-invalid' });
    expect(existsSync(path.join(run.runDir, 'shim.json'))).toBe(false);
    await startShim({ runDir: run.runDir, spec: probeSpec(run, 'bwrap', ['exit', '0']) });
    const final = await waitForShimExit({ runDir: run.runDir, timeoutMs: 60_000 });
    await expect(startShim({ runDir: run.runDir, spec: probeSpec(run, 'bwrap', ['exit', '0']) })).rejects.toMatchObject({ code: 'shim-already-started' });
    const second = spawnSync(process.execPath, [SHIM_MAIN, run.runDir], { encoding: 'utf8', timeout: 60_000 });
    expect(second.status).toBe(2);
    expect(second.stderr).toContain('this run already has (or had) a shim');
    expect(await readShimStatus(run.runDir)).toEqual(final);
  });
});

describe('snapshots and artefacts', () => {
  it('copies each save once it settles; planted links and FIFOs are neither copied nor collected', async () => {
    const run = await makeRun(root);
    const out = path.join(run.workDir, 'out');
    const spec = probeSpec(run, 'bwrap', ['saves'], { snapshots: [{ dir: out, pattern: '\\.bin$', settleS: 1 }] });
    await startShim({ runDir: run.runDir, spec });
    const final = (await waitForShimExit({ runDir: run.runDir, timeoutMs: 60_000 })) as ShimStatus;
    expect(final.exit).toMatchObject({ code: 0, reason: 'exited' });
    expect(logText(run.runDir)).toContain('planted');
    const copies = final.snapshots.map((snapshot) => ({ source: path.relative(run.workDir, snapshot.source), copy: readFileSync(snapshot.copy, 'latin1') }));
    const firstSave = 'A'.repeat(1000) + 'B'.repeat(1000) + 'C'.repeat(1000);
    // The first save is copied whole once it settled (a slow machine may also have copied a part of it first).
    expect(copies.map((c) => c.source).every((source) => source === 'out/model.bin')).toBe(true);
    expect(copies.some((c) => c.copy === firstSave)).toBe(true);
    expect(copies.at(-1)?.copy).toBe('Z'.repeat(500));
    for (const snapshot of final.snapshots) expect(path.dirname(snapshot.copy)).toBe(path.join(run.runDir, 'snapshots'));

    const collected = await collectArtifacts(run.workDir, out);
    expect(collected.files.map((file) => [file.relative, file.size])).toEqual([['model.bin', 500]]);
    expect(collected.skipped.map((entry) => [entry.relative, entry.reason])).toEqual([
      ['evil.bin', 'symlink'],
      ['fifo.bin', 'not-regular'],
    ]);
  });
});

describe('the KOHYA ENGINE DOUBLE under a real shim', () => {
  it('trains a LoRA end to end in bwrap: exit 0, "model saved.", snapshots of every saved model, artefacts collected', async () => {
    const engineDir = path.join(root, 'engine');
    await writePythonStandIn(engineDir);
    const datasetDir = path.join(root, 'datasets', 'character');
    await mkdir(datasetDir, { recursive: true });
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
    for (const name of ['a', 'b']) {
      await writeFile(path.join(datasetDir, `${name}.png`), png);
      await writeFile(path.join(datasetDir, `${name}.txt`), 'sks woman');
    }
    const model = path.join(root, 'models', 'sd15.safetensors');
    await mkdir(path.dirname(model), { recursive: true });
    await writeFile(model, 'stand-in: the double does not read the base model');
    const runDir = path.join(root, 'runs', 'kohya-1');
    const launch = await prepareKohyaRun(
      {
        script: 'train_network.py',
        args: { pretrained_model_name_or_path: model, network_module: 'networks.lora', network_dim: 4, network_alpha: 2, learning_rate: 0.0001, max_train_epochs: 2, save_every_n_epochs: 1, output_name: 'dbl', seed: 1 },
        general: { caption_extension: '.txt' },
        datasets: [{ resolution: 512, batch_size: 1, subsets: [{ name: 'character', source_dir: datasetDir, num_repeats: 1 }] }],
      },
      { runDir, engine: kohyaDoubleEngine(engineDir), gpus: [] },
    );
    const ref = await startShim({
      runDir,
      spec: {
        version: 1,
        jobId: 'kohya-1',
        runDir,
        workDir: launch.layout.workDir,
        argv: launch.argv,
        env: launch.env,
        cwd: launch.cwd,
        // The stand-in python is a Node script: the repository (its Node, the double, node_modules) is bound too.
        sandbox: { mode: 'bwrap', readOnly: [...launch.sandbox.readOnly, REPO], writable: launch.sandbox.writable, devices: [] },
        phases: launch.directives.phases,
        snapshots: launch.directives.snapshots,
        stop: { graceS: 5 },
        logs: { segmentBytes: 1 << 20, keepSegments: 4 },
      },
    });
    const final = (await waitForShimExit({ runDir, timeoutMs: 120_000 })) as ShimStatus;
    const log = logText(runDir);
    expect(final.exit, log).toMatchObject({ code: 0, reason: 'exited' });
    expect(final.shim).toEqual(ref);
    expect(final.phase).toBe('training');
    expect(log).toContain('model saved.');
    expect(final.snapshots.map((snapshot) => path.basename(snapshot.source)).sort()).toEqual(['dbl-000001.safetensors', 'dbl.safetensors']);
    for (const snapshot of final.snapshots) expect(readFileSync(snapshot.copy)).toEqual(readFileSync(snapshot.source));
    const collected = await collectArtifacts(launch.layout.workDir, launch.layout.outputDir);
    expect(collected.files.map((file) => file.relative)).toEqual(expect.arrayContaining(['dbl-000001.safetensors', 'dbl.safetensors']));
    expect(collected.skipped).toEqual([]);
  });
});

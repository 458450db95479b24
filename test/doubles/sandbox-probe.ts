#!/usr/bin/env node
/**
 * SANDBOX PROBE DOUBLE — a stand-in engine for the run shim's tests (test/jobs/shim*.test.ts). It is not an
 * engine: it tries what a hostile or broken engine would do and reports what happened, or it behaves like a
 * hung, runaway or signal-ignoring engine. Run as `node sandbox-probe.ts <mode> [args…]`, cwd = the run's work/:
 *
 *   probe <json>          try to write outside work/ (json.writeOutside: files to append to, json.createIn:
 *                         folders to create a file in), read json.readForbidden, connect to 127.0.0.1:json.tcpPort
 *                         and to json.externalHost:80; record uid, gid, capabilities, visible pids, the
 *                         environment's names and its resource limits; write work/inside.txt; print `PROBE-RESULT <json>` and write the
 *                         same to work/probe-result.json
 *   tree <seconds>        start `sleep <seconds>` and `setsid sleep <seconds>`, ignore SIGINT and SIGTERM, print
 *                         `tree-ready`, run until killed
 *   orphans <seconds>     start `sleep <seconds>` and `setsid sleep <seconds>`, print `orphans-left`, exit 0
 *   signals               append each SIGINT / SIGTERM it receives to work/signals.txt and ignore it; print
 *                         `ENGINE-TICKS <start ticks of its own process>`, run until killed
 *   silent                print `starting` once, then nothing, until killed
 *   steps <n> <ms>        print `running training`, then `steps: k/n` every <ms> ms, then nothing until killed
 *   spam <lines> <bytes> [--wait-go]   print <lines> lines of about <bytes> bytes (line 3 carries an hf_ token,
 *                         line 4 the content of work/echo.txt if there is one), and with --wait-go, wait for
 *                         work/go, print as many again; exit 0
 *   exit <code>           print `bye`, one line on stderr, exit with <code>
 *   saves                 write work/out/model.bin twice (a first save in pieces, a second one that overwrites
 *                         it), plant work/out/evil.bin → /etc/passwd and a FIFO work/out/fifo.bin; exit 0
 */
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const [mode, ...args] = process.argv.slice(2);

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function ownStartTicks(): string {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

function keepAlive(): void {
  setInterval(() => undefined, 60_000);
}

function attempt(action: () => void): { ok: boolean; code?: string } {
  try {
    action();
    return { ok: true };
  } catch (error) {
    return { ok: false, code: (error as NodeJS.ErrnoException).code ?? String(error) };
  }
}

function connect(host: string, port: number): Promise<{ ok: boolean; code?: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ ok: false, code: 'ETIMEDOUT' });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? error.message }));
  });
}

async function probe(json: string): Promise<void> {
  const targets = JSON.parse(json) as { writeOutside: string[]; createIn: string[]; readForbidden: string[]; tcpPort: number; externalHost: string };
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
  const result = {
    uid: process.getuid?.(),
    gid: process.getgid?.(),
    capEff: field('CapEff'),
    capBnd: field('CapBnd'),
    pid: process.pid,
    visiblePids: readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length,
    envNames: Object.keys(process.env).sort(),
    writes: Object.fromEntries(targets.writeOutside.map((file) => [file, attempt(() => appendFileSync(file, 'PWNED by the sandbox probe\n'))])),
    creates: Object.fromEntries(targets.createIn.map((dir) => [dir, attempt(() => writeFileSync(path.join(dir, 'pwned.txt'), 'PWNED'))])),
    reads: Object.fromEntries(targets.readForbidden.map((file) => [file, attempt(() => readFileSync(file))])),
    tcpLoopback: await connect('127.0.0.1', targets.tcpPort),
    tcpExternal: await connect(targets.externalHost, 80),
    inside: attempt(() => writeFileSync('inside.txt', 'written by the sandbox probe\n')),
    // Soft and hard, as the kernel reports them: the resource limits the shim put on the engine.
    limits: Object.fromEntries(
      ['Max core file size', 'Max open files', 'Max address space'].map((name) => {
        const match = new RegExp(`^${name}\\s+(\\S+)\\s+(\\S+)`, 'm').exec(readFileSync('/proc/self/limits', 'utf8'));
        return [name, [match?.[1] ?? '', match?.[2] ?? '']];
      }),
    ),
  };
  say(`PROBE-RESULT ${JSON.stringify(result)}`);
  writeFileSync('probe-result.json', JSON.stringify(result, null, 2));
}

async function main(): Promise<void> {
  switch (mode) {
    case 'probe':
      return probe(args[0] ?? '{}');
    case 'tree': {
      process.on('SIGINT', () => say('ignoring SIGINT'));
      process.on('SIGTERM', () => say('ignoring SIGTERM'));
      const seconds = args[0] ?? '3600';
      spawn('/usr/bin/sleep', [seconds], { stdio: 'ignore' });
      spawn('/usr/bin/setsid', ['/usr/bin/sleep', seconds], { stdio: 'ignore' });
      await sleep(200);
      say('tree-ready');
      return keepAlive();
    }
    case 'orphans': {
      const seconds = args[0] ?? '3600';
      spawn('/usr/bin/sleep', [seconds], { stdio: 'ignore', detached: true }).unref();
      spawn('/usr/bin/setsid', ['/usr/bin/sleep', seconds], { stdio: 'ignore' }).unref();
      await sleep(200);
      say('orphans-left');
      return;
    }
    case 'signals': {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.on(signal, () => {
          appendFileSync('signals.txt', `${signal}\n`);
          say(`got ${signal}`);
        });
      }
      say(`ENGINE-TICKS ${ownStartTicks()}`);
      return keepAlive();
    }
    case 'silent':
      say('starting');
      return keepAlive();
    case 'steps': {
      const total = Number(args[0] ?? '5');
      say('running training');
      for (let step = 1; step <= total; step++) {
        await sleep(Number(args[1] ?? '100'));
        say(`steps: ${step}/${total * 10}`);
      }
      return keepAlive();
    }
    case 'spam': {
      const lines = Number(args[0] ?? '100');
      const bytes = Number(args[1] ?? '100');
      const echo = existsSync('echo.txt') ? readFileSync('echo.txt', 'utf8').trim() : '';
      const batch = (from: number): void => {
        for (let i = from; i < from + lines; i++) {
          if (i === 3) say(`token hf_SpamCanary0123456789abcdefghij in line ${i}`);
          else if (i === 4 && echo !== '') say(`echo ${echo} in line ${i}`);
          else say(`line ${i} `.padEnd(bytes, 'x'));
        }
      };
      batch(1);
      if (args[2] === '--wait-go') {
        while (!existsSync('go')) await sleep(20);
        batch(lines + 1);
      }
      return;
    }
    case 'exit':
      say('bye');
      process.stderr.write('exiting on request\n');
      process.exitCode = Number(args[0] ?? '0');
      return;
    case 'saves': {
      mkdirSync('out', { recursive: true });
      const fd = openSync('out/model.bin', 'w');
      for (let i = 0; i < 3; i++) {
        writeSync(fd, Buffer.alloc(1000, 0x41 + i));
        await sleep(100);
      }
      closeSync(fd);
      say('saved 1');
      await sleep(2500);
      writeFileSync('out/model.bin', Buffer.alloc(500, 0x5a));
      say('saved 2');
      symlinkSync('/etc/passwd', 'out/evil.bin');
      spawn('/usr/bin/mkfifo', ['out/fifo.bin'], { stdio: 'ignore' }).once('exit', () => say('planted'));
      await sleep(500);
      return;
    }
    default:
      process.stderr.write(`sandbox probe double: unknown mode ${String(mode)}\n`);
      process.exitCode = 2;
  }
}

await main();

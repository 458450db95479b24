/**
 * A fake machine for engine detection and install tests: `python3`, `git` and `nvidia-smi` as Node programs
 * with `#!` lines in a temp `bin/`, doing what the real ones do to the file system for the installer's exact
 * command lines (a venv whose `bin/python` answers pip and the version probes, a checkout whose HEAD is the
 * fetched commit), and logging every argv to a JSON Lines file so tests can see what ran, in which order.
 * Anything unexpected exits 97 with the argv on stderr, so a changed command line fails loudly.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface FakeMachineOptions {
  /** nvidia-smi's driver version; null: no nvidia-smi on PATH. */
  driver?: string | null;
  /** A lock file name whose `pip install -r` fails (hash mismatch, as pip reports it). */
  failPipOn?: string;
  pythonVersion?: string;
}

export interface FakeMachine {
  bin: string;
  /** PATH with the fakes first. */
  path: string;
  calls(): Promise<Array<{ program: string; argv: string[] }>>;
}

const SHEBANG = `#!${process.execPath}`;

function header(log: string, program: string): string {
  return `${SHEBANG}
const fs = require('node:fs');
const path = require('node:path');
const argv = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ program: ${JSON.stringify(program)}, argv }) + '\\n');
const fail = () => { process.stderr.write('fake ${program}: unexpected argv ' + JSON.stringify(argv) + '\\n'); process.exit(97); };
`;
}

/** The venv's python: pip installs (a marker per lock), the version and torch probes. */
function venvPython(log: string, options: FakeMachineOptions): string {
  return `${header(log, 'venv-python')}
const venv = path.dirname(path.dirname(process.argv[1]));
const marker = path.join(venv, 'installed.json');
const installed = fs.existsSync(marker) ? JSON.parse(fs.readFileSync(marker, 'utf8')) : [];
if (argv[0] !== '-E' || argv[1] !== '-s') fail();
if (argv[2] === '-m' && argv[3] === 'pip' && argv[4] === 'install') {
  if (!argv.includes('--require-hashes') || argv.at(-2) !== '-r') fail();
  const lock = path.basename(argv.at(-1));
  if (lock === ${JSON.stringify(options.failPipOn ?? '')}) { process.stderr.write('ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE.\\n'); process.exit(1); }
  fs.writeFileSync(marker, JSON.stringify([...installed, lock]));
  process.stdout.write('Successfully installed from ' + lock + '\\n');
  process.exit(0);
}
if (argv[2] === '-c' && argv[3].startsWith('import sys;')) { process.stdout.write(${JSON.stringify(options.pythonVersion ?? '3.11.9')} + '\\n'); process.exit(0); }
if (argv[2] === '-c' && argv[3].startsWith('import torch;')) {
  const torch = installed.find((name) => name.startsWith('torch-'));
  if (torch === undefined) { process.stderr.write("ModuleNotFoundError: No module named 'torch'\\n"); process.exit(1); }
  const tag = /-(cu\\d+|cpu)\\.txt$/.exec(torch)[1];
  const cuda = { cu128: '12.8', cu126: '12.6', cu118: '11.8', cpu: 'None' }[tag];
  process.stdout.write('2.7.1+' + tag + ' ' + cuda + '\\n');
  process.exit(0);
}
if (argv[2] === '-c' && argv[3].includes("m.version('fluxflow-training')")) {
  if (!installed.includes('fluxflow.txt')) { process.stderr.write('importlib.metadata.PackageNotFoundError: fluxflow-training\\n'); process.exit(1); }
  process.stdout.write('0.8.1\\n');
  process.exit(0);
}
fail();
`;
}

export async function fakeMachine(root: string, options: FakeMachineOptions = {}): Promise<FakeMachine> {
  const bin = path.join(root, 'bin');
  const lib = path.join(root, 'lib');
  const log = path.join(root, 'calls.jsonl');
  await mkdir(bin, { recursive: true });
  await mkdir(lib, { recursive: true });
  await writeFile(log, '');
  const venvTemplate = path.join(lib, 'venv-python');
  await writeFile(venvTemplate, venvPython(log, options));

  const programs: Record<string, string> = {
    python3: `${header(log, 'python3')}
if (argv[0] !== '-E' || argv[1] !== '-s') fail();
if (argv[2] === '-c' && argv[3].startsWith('import sys;')) { process.stdout.write(${JSON.stringify(options.pythonVersion ?? '3.11.9')} + '\\n'); process.exit(0); }
if (argv[2] === '-m' && argv[3] === 'venv' && argv.length === 5) {
  const venv = argv[4];
  fs.mkdirSync(path.join(venv, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(venv, 'pyvenv.cfg'), 'home = /usr/bin\\n');
  fs.copyFileSync(${JSON.stringify(venvTemplate)}, path.join(venv, 'bin', 'python'));
  fs.chmodSync(path.join(venv, 'bin', 'python'), 0o755);
  process.exit(0);
}
fail();
`,
    git: `${header(log, 'git')}
if (argv[0] === 'init' && argv[1] === '--quiet' && argv.length === 3) { fs.mkdirSync(path.join(argv[2], '.git'), { recursive: true }); process.exit(0); }
if (argv[0] !== '-C') fail();
const src = argv[1];
const rest = argv.slice(2);
const gitDir = path.join(src, '.git');
if (rest[0] === 'fetch' && rest.includes('--depth') && rest.includes('--no-tags')) { fs.writeFileSync(path.join(gitDir, 'FETCH_HEAD'), rest.at(-1) + '\\n'); process.exit(0); }
if (rest.includes('checkout') && rest.at(-1) === 'FETCH_HEAD') {
  fs.writeFileSync(path.join(gitDir, 'HEAD'), fs.readFileSync(path.join(gitDir, 'FETCH_HEAD'), 'utf8'));
  fs.mkdirSync(path.join(src, 'library'), { recursive: true });
  fs.writeFileSync(path.join(src, 'train_network.py'), '# fake sd-scripts\\n');
  fs.writeFileSync(path.join(src, 'library', 'train_util.py'), '# fake\\n');
  process.exit(0);
}
if (rest[0] === 'rev-parse' && rest.at(-1) === 'HEAD^{commit}') { process.stdout.write(fs.readFileSync(path.join(gitDir, 'HEAD'), 'utf8')); process.exit(0); }
fail();
`,
  };
  if (options.driver !== null) {
    programs['nvidia-smi'] = `${header(log, 'nvidia-smi')}
if (!argv[0].startsWith('--query-gpu=')) fail();
process.stdout.write('0, NVIDIA H200, 143771, 143000, ${options.driver ?? '570.133.20'}\\n');
`;
  }
  for (const [name, script] of Object.entries(programs)) {
    await writeFile(path.join(bin, name), script);
    await chmod(path.join(bin, name), 0o755);
  }
  return {
    bin,
    path: `${bin}:/usr/bin:/bin`,
    async calls() {
      const text = await readFile(log, 'utf8');
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as { program: string; argv: string[] });
    },
  };
}

/** A requirements lock in pip-compile's hashed shape (the fakes check only its name; the checker its lines). */
export function hashedLock(...requirements: string[]): string {
  return requirements.map((requirement, i) => `${requirement} \\\n    --hash=sha256:${String(i).padStart(64, 'f')}\n`).join('');
}

/** A finished venv made the way the fake `python3 -m venv` makes one, with the given locks already "installed". */
export async function fakeVenv(root: string, venv: string, installedLocks: string[]): Promise<string> {
  const python = path.join(venv, 'bin', 'python');
  await mkdir(path.dirname(python), { recursive: true });
  await writeFile(path.join(venv, 'pyvenv.cfg'), 'home = /usr/bin\n');
  await writeFile(python, await readFile(path.join(root, 'lib', 'venv-python'), 'utf8'));
  await chmod(python, 0o755);
  await writeFile(path.join(venv, 'installed.json'), JSON.stringify(installedLocks));
  return python;
}

/** An sd-scripts checkout as the fake git leaves it: the two files detection looks for, HEAD at `commit`. */
export async function fakeSdScripts(src: string, commit: string): Promise<string> {
  await mkdir(path.join(src, 'library'), { recursive: true });
  await mkdir(path.join(src, '.git'), { recursive: true });
  await writeFile(path.join(src, 'train_network.py'), '# fake sd-scripts\n');
  await writeFile(path.join(src, 'library', 'train_util.py'), '# fake\n');
  await writeFile(path.join(src, '.git', 'HEAD'), `${commit}\n`);
  return src;
}

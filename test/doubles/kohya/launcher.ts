/**
 * KOHYA ENGINE DOUBLE — how tests and the jobs runner start it.
 *
 * 1. Spawn `launch.argv` unchanged: write the stand-in interpreter with `writePythonStandIn(dir)` and use
 *    `kohyaDoubleEngine(dir)` as the adapter's `KohyaEngineLocation`. `<dir>/bin/python` is a Node script
 *    (absolute `#!<node>` line, so the engine's allowlisted PATH does not need node; no shell) that imports
 *    kohya-double.ts and runs it with its own argv (`-E -s -u -X utf8 <script> --config_file …`).
 * 2. Or replace argv[0]: `spawn(process.execPath, kohyaDoubleArgv(launch.argv), { env, cwd, shell: false })`.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KohyaEngineLocation } from '../../../src/training/engines/kohya/launch.ts';
import { KOHYA_DOUBLE_PATH } from './kohya-double.ts';

export { KOHYA_DOUBLE_PATH };

/** Write `<dir>/bin/python` (the stand-in) and `<dir>/sd-scripts/` (the "engine root"); returns the python path. */
export async function writePythonStandIn(dir: string): Promise<string> {
  const bin = path.join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  await mkdir(path.join(dir, 'sd-scripts'), { recursive: true });
  await mkdir(path.join(dir, 'cache', 'tokenizers'), { recursive: true });
  const python = path.join(bin, 'python');
  const source = [
    `#!${process.execPath}`,
    '// KOHYA ENGINE DOUBLE stand-in for the engine venv\'s python: runs test/doubles/kohya/kohya-double.ts.',
    `import(${JSON.stringify(pathToFileURL(KOHYA_DOUBLE_PATH).href)}).then((m) => m.runAsMain(process.argv.slice(2)));`,
    '',
  ].join('\n');
  await writeFile(python, source, { mode: 0o755 });
  await chmod(python, 0o755);
  return python;
}

/** A `KohyaEngineLocation` whose python is the stand-in written by `writePythonStandIn(dir)`. */
export function kohyaDoubleEngine(dir: string): KohyaEngineLocation {
  return {
    python: path.join(dir, 'bin', 'python'),
    venvDir: dir,
    engineRoot: path.join(dir, 'sd-scripts'),
    tokenizerCacheDir: path.join(dir, 'cache', 'tokenizers'),
  };
}

/** `launch.argv` with the interpreter replaced by the double: run it with `process.execPath`. */
export function kohyaDoubleArgv(launchArgv: readonly string[]): string[] {
  return [KOHYA_DOUBLE_PATH, ...launchArgv.slice(1)];
}

/**
 * KOHYA ENGINE DOUBLE, with per-run scenarios for the jobs tests. `writeScenarioEngine(dir)` writes the
 * stand-in interpreter `<dir>/bin/python` (a Node script with an absolute `#!<node>` line, no shell) and the
 * engine folders, like test/doubles/kohya/launcher.ts does; this stand-in first reads the run's `output_name`
 * from `--config_file`, looks it up in `<dir>/scenarios.json`, and sets the double's failure mode and speed
 * for that run (the engine's environment is built from nothing, so a test cannot pass them as variables).
 * The `output: "malicious"` scenario replaces the final LoRA with a booby-trapped pickle once the double has
 * saved it — a run whose output must never reach the library.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KohyaEngineLocation } from '../../../src/training/engines/kohya/launch.ts';
import { KOHYA_DOUBLE_PATH } from '../../doubles/kohya/kohya-double.ts';
import { maliciousPickle } from '../../helpers/model-files.ts';

export interface Scenario {
  /** KOHYA_DOUBLE_FAIL: `oom:STEP`, `crash:STEP`, `hang:PHASE`, `nodata`. */
  fail?: string;
  /** KOHYA_DOUBLE_SPEED: optimizer steps per second. */
  speed?: number;
  /** `malicious`: the final file becomes a pickle that runs a command when loaded. */
  output?: 'malicious';
}

export interface ScenarioEngine {
  dir: string;
  location: KohyaEngineLocation;
  /** Scenarios by the run's output name (the config's `name`). */
  set(scenarios: Record<string, Scenario>): Promise<void>;
}

export async function writeScenarioEngine(dir: string): Promise<ScenarioEngine> {
  const bin = path.join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  await mkdir(path.join(dir, 'sd-scripts'), { recursive: true });
  await mkdir(path.join(dir, 'cache', 'tokenizers'), { recursive: true });
  const scenariosFile = path.join(dir, 'scenarios.json');
  const python = path.join(bin, 'python');
  const pickle = Buffer.from(maliciousPickle()).toString('base64');
  const source = `#!${process.execPath}
// KOHYA ENGINE DOUBLE stand-in (jobs tests): per-run scenarios, then test/doubles/kohya/kohya-double.ts.
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const argv = process.argv.slice(2);
const configFile = argv[argv.indexOf('--config_file') + 1] ?? '';
const text = existsSync(configFile) ? readFileSync(configFile, 'utf8') : '';
const field = (key) => { const m = new RegExp('^' + key + ' = (".*")$', 'm').exec(text); return m === null ? undefined : JSON.parse(m[1]); };
const name = field('output_name');
const scenarios = existsSync(${JSON.stringify(scenariosFile)}) ? JSON.parse(readFileSync(${JSON.stringify(scenariosFile)}, 'utf8')) : {};
const scenario = scenarios[name] ?? {};
if (scenario.fail !== undefined) process.env.KOHYA_DOUBLE_FAIL = scenario.fail;
if (scenario.speed !== undefined) process.env.KOHYA_DOUBLE_SPEED = String(scenario.speed);
import(${JSON.stringify(pathToFileURL(KOHYA_DOUBLE_PATH).href)}).then(async (double) => {
  const code = await double.main(argv);
  if (code === 0 && scenario.output === 'malicious') writeFileSync(field('output_dir') + '/' + name + '.safetensors', Buffer.from(${JSON.stringify(pickle)}, 'base64'));
  process.exitCode = code;
});
`;
  await writeFile(python, source, { mode: 0o755 });
  await chmod(python, 0o755);
  await writeFile(scenariosFile, '{}\n');
  return {
    dir,
    location: { python, venvDir: dir, engineRoot: path.join(dir, 'sd-scripts'), tokenizerCacheDir: path.join(dir, 'cache', 'tokenizers') },
    set: async (scenarios) => writeFile(scenariosFile, `${JSON.stringify(scenarios)}\n`),
  };
}

/**
 * FLUXFLOW ENGINE DOUBLE, with per-run scenarios for the jobs tests (the FluxFlow twin of
 * helpers/scenario-engine.ts). `writeFluxflowScenarioEngine(dir)` writes the double's stand-in venv and
 * tokenizer cache (test/doubles/fluxflow/launcher.ts), then replaces `venv/bin/python` with one that first
 * reads the run's first pipeline step name from `--config`, looks it up in `venv/scenarios.json`, and sets the
 * double's failure mode and speed for that run: the engine's environment is built from nothing, so a test
 * cannot pass FLUXFLOW_DOUBLE_FAIL as a variable. The scenarios file sits in the venv, which the sandbox binds
 * read-only, so a run under the real shim sees it too.
 *
 * `node` and `double` name the interpreter and the double's entry file the stand-in starts: this process's
 * by default; a run under bubblewrap needs them inside a folder the sandbox binds (see the e2e test).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fluxflowDoubleEngine, FLUXFLOW_DOUBLE_PATH, writeFluxflowStandIn } from '../doubles/fluxflow/launcher.ts';
import type { FluxflowEngineLocation } from '../../src/training/engines/fluxflow/engine-location.ts';

export interface FluxflowScenario {
  /** FLUXFLOW_DOUBLE_FAIL: `oom:N`, `crash:N`, `nan:N`, `hang:PHASE`, `exit0`. */
  fail?: string;
  /** FLUXFLOW_DOUBLE_SPEED: batches per second. */
  speed?: number;
}

export interface FluxflowScenarioEngine {
  /** The stand-in's folder (`venv/`, `cache/`). */
  dir: string;
  location: FluxflowEngineLocation;
  /** Scenarios by the run's first pipeline step name. */
  set(scenarios: Record<string, FluxflowScenario>): Promise<void>;
}

export async function writeFluxflowScenarioEngine(dir: string, options: { node?: string; double?: string } = {}): Promise<FluxflowScenarioEngine> {
  await writeFluxflowStandIn(dir);
  const location = fluxflowDoubleEngine(dir);
  const scenariosFile = path.join(location.venvDir, 'scenarios.json');
  // getBuiltinModule: the stand-in has no extension, so it loads as CommonJS or as ESM depending on the folder.
  const source = `#!${options.node ?? process.execPath}
// FLUXFLOW ENGINE DOUBLE stand-in (jobs tests): per-run scenarios, then test/doubles/fluxflow/fluxflow-double.ts.
const { existsSync, readFileSync } = process.getBuiltinModule('node:fs');
const argv = process.argv.slice(2);
const configFile = argv[argv.indexOf('--config') + 1] ?? '';
const text = existsSync(configFile) ? readFileSync(configFile, 'utf8') : '';
const step = /^[ -]*name: "?([^"\\s]+)"?$/m.exec(text)?.[1] ?? '';
const scenarios = existsSync(${JSON.stringify(scenariosFile)}) ? JSON.parse(readFileSync(${JSON.stringify(scenariosFile)}, 'utf8')) : {};
const scenario = scenarios[step] ?? {};
if (scenario.fail !== undefined) process.env.FLUXFLOW_DOUBLE_FAIL = scenario.fail;
if (scenario.speed !== undefined) process.env.FLUXFLOW_DOUBLE_SPEED = String(scenario.speed);
import(${JSON.stringify(pathToFileURL(options.double ?? FLUXFLOW_DOUBLE_PATH).href)}).then((double) => double.runAsMain(double.pythonMain, argv));
`;
  await writeFile(location.python, source, { mode: 0o755 });
  await writeFile(scenariosFile, '{}\n', { mode: 0o644 });
  return { dir, location, set: async (scenarios) => writeFile(scenariosFile, `${JSON.stringify(scenarios)}\n`) };
}

/**
 * The one resolver of where an engine is (DESIGN.md §7): `LORASMITH_KOHYA_ROOT` / `LORASMITH_KOHYA_PYTHON` /
 * `LORASMITH_FLUXFLOW_PYTHON` first, then the `engines` settings section, then the workspace's
 * `engines/<engine>/` (`sd-scripts/`, `venv/`). Detection, the dry run's launch paths and the installer's
 * "this is not the engine runs will use" note all read it, so they can never disagree. No I/O here.
 */
import os from 'node:os';
import path from 'node:path';
import type { EngineId } from '../engine-events.ts';
import type { LocationSource } from './engine-status.ts';

export type { EngineId, LocationSource };
export const ENGINE_IDS: readonly EngineId[] = ['kohya', 'fluxflow'];

/** The settings' view of the locations (null or absent: not set), plus where the workspace keeps engines. */
export interface EngineLocationSettings {
  kohyaRoot?: string | null;
  kohyaPython?: string | null;
  fluxflowPython?: string | null;
  /** The workspace's `engines/` folder; default `$LORASMITH_HOME/engines` (or `~/.lorasmith/engines`). */
  enginesDir?: string;
}

export type EngineEnv = Readonly<Record<string, string | undefined>>;

export interface EngineLocation {
  /** The sd-scripts checkout (kohya) or `engines/fluxflow` (fluxflow, installed from the package index). As given: may be relative when a variable or setting is. */
  root: string;
  python: string;
  sources: { root: LocationSource; python: LocationSource };
  /** Start-up files (tokenizers) fetched at install; always in the workspace, never moved by a variable. */
  cacheDir: string;
  /** What the workspace's own install would be: `engine install` writes here whatever the variables say. */
  workspace: { root: string; python: string };
}

const nonEmpty = (value: string | null | undefined): string | undefined => (value === undefined || value === null || value.trim() === '' ? undefined : value);

export function enginesDirFrom(env: EngineEnv, settings?: EngineLocationSettings): string {
  if (settings?.enginesDir !== undefined) return path.resolve(settings.enginesDir);
  const home = nonEmpty(env.LORASMITH_HOME);
  if (home !== undefined && path.isAbsolute(home)) return path.join(path.resolve(home), 'engines');
  return path.join(nonEmpty(env.HOME) ?? os.homedir(), '.lorasmith', 'engines');
}

function pick(envValue: string | undefined, setting: string | null | undefined, fallback: string): { value: string; source: LocationSource } {
  const fromEnv = nonEmpty(envValue);
  if (fromEnv !== undefined) return { value: fromEnv, source: 'env' };
  const fromSettings = nonEmpty(setting);
  if (fromSettings !== undefined) return { value: fromSettings, source: 'settings' };
  return { value: fallback, source: 'workspace' };
}

/** Locations only, no probing: env > settings > workspace, per path. */
export function engineLocation(engine: EngineId, env: EngineEnv, settings?: EngineLocationSettings): EngineLocation {
  const engineDir = path.join(enginesDirFrom(env, settings), engine);
  const workspace = {
    root: engine === 'kohya' ? path.join(engineDir, 'sd-scripts') : engineDir,
    python: path.join(engineDir, 'venv', 'bin', 'python'),
  };
  if (engine === 'kohya') {
    const root = pick(env.LORASMITH_KOHYA_ROOT, settings?.kohyaRoot, workspace.root);
    const python = pick(env.LORASMITH_KOHYA_PYTHON, settings?.kohyaPython, workspace.python);
    return { root: root.value, python: python.value, sources: { root: root.source, python: python.source }, cacheDir: path.join(engineDir, 'cache', 'tokenizers'), workspace };
  }
  const python = pick(env.LORASMITH_FLUXFLOW_PYTHON, settings?.fluxflowPython, workspace.python);
  return { root: workspace.root, python: python.value, sources: { root: 'workspace', python: python.source }, cacheDir: path.join(engineDir, 'cache'), workspace };
}

/** The strongest source among a location's paths: a run uses the engine the operator pointed at, if any. */
export function strongestSource(sources: EngineLocation['sources']): LocationSource {
  const all = [sources.root, sources.python];
  return all.includes('env') ? 'env' : all.includes('settings') ? 'settings' : 'workspace';
}

/**
 * FLUXFLOW ENGINE DOUBLE — how tests (and the jobs runner's tests) start it.
 *
 * `writeFluxflowStandIn(dir)` lays out a fake engine install the adapter launches unchanged:
 *   <dir>/venv/bin/python          a Node script (absolute `#!<node>` line, so the engine's allowlisted PATH needs
 *                                  no node; no shell) that checks `-E -s -u` and runs the double's `pythonMain`;
 *   <dir>/venv/bin/fluxflow-train  the "console script": marked so the python stand-in accepts it, and runnable
 *                                  on its own (it runs the double's `main`);
 *   <dir>/cache/models--distilbert-base-uncased/{refs/main,snapshots/<rev>/…}
 *                                  the offline tokenizer cache the install fills (Hub-cache layout).
 * `fluxflowDoubleEngine(dir)` is the matching `FluxflowEngineLocation`.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeSafetensors } from '../../../src/formats/safetensors/index.ts';
import { FLUXFLOW_TOKENIZER_CACHE, fluxflowLocationAt, type FluxflowEngineLocation } from '../../../src/training/engines/fluxflow/engine-location.ts';
import { FLUXFLOW_DOUBLE_PATH, TRAINER_MARKER } from './fluxflow-double.ts';

export { FLUXFLOW_DOUBLE_PATH };

/** A commit hash as the Hub cache names snapshots. */
export const DOUBLE_TOKENIZER_REVISION = '12040accade4e8a0f71eabdb258fecc2e7e948be';

function nodeScript(comment: string, entry: 'main' | 'pythonMain'): string {
  return [
    `#!${process.execPath}`,
    comment,
    `import(${JSON.stringify(pathToFileURL(FLUXFLOW_DOUBLE_PATH).href)}).then((m) => m.runAsMain(m.${entry}, process.argv.slice(2)));`,
    '',
  ].join('\n');
}

/** Write the stand-in venv and the tokenizer cache under `dir`. */
export async function writeFluxflowStandIn(dir: string, options: { tokenizerCache?: boolean } = {}): Promise<void> {
  const bin = path.join(dir, 'venv', 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(path.join(bin, 'python'), nodeScript('// FLUXFLOW ENGINE DOUBLE: stand-in for the engine venv\'s python', 'pythonMain'), { mode: 0o755 });
  await writeFile(path.join(bin, 'fluxflow-train'), nodeScript(TRAINER_MARKER, 'main'), { mode: 0o755 });
  for (const name of ['python', 'fluxflow-train']) await chmod(path.join(bin, name), 0o755);
  const model = path.join(dir, 'cache', FLUXFLOW_TOKENIZER_CACHE);
  await mkdir(path.join(dir, 'cache'), { recursive: true });
  if (options.tokenizerCache === false) return;
  const snapshot = path.join(model, 'snapshots', DOUBLE_TOKENIZER_REVISION);
  await mkdir(snapshot, { recursive: true });
  await mkdir(path.join(model, 'refs'), { recursive: true });
  await writeFile(path.join(model, 'refs', 'main'), DOUBLE_TOKENIZER_REVISION);
  await writeFile(path.join(snapshot, 'config.json'), JSON.stringify({ model_type: 'distilbert', dim: 768, n_layers: 6, vocab_size: 30522, note: 'FLUXFLOW ENGINE DOUBLE cache entry' }));
  await writeFile(path.join(snapshot, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, model_max_length: 512 }));
  await writeFile(path.join(snapshot, 'vocab.txt'), '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n');
  // `pretrained_bert_model` loads the weights as well: a small stand-in with DistilBERT's key names.
  await writeSafetensors({ path: path.join(snapshot, 'model.safetensors'), tensors: [{ name: 'distilbert.embeddings.word_embeddings.weight', dtype: 'F32', shape: [4, 2], data: new Uint8Array(32) }], mode: 0o644 });
}

/** The engine location of a stand-in written by `writeFluxflowStandIn(dir)`. */
export function fluxflowDoubleEngine(dir: string, options: { tokenizerCache?: boolean } = {}): FluxflowEngineLocation {
  const cacheDir = path.join(dir, 'cache');
  return fluxflowLocationAt(
    path.join(dir, 'venv', 'bin', 'python'),
    cacheDir,
    // writeFluxflowStandIn writes the tokenizer and a stand-in of the weights.
    options.tokenizerCache === false ? null : { dir: path.join(cacheDir, FLUXFLOW_TOKENIZER_CACHE, 'snapshots', DOUBLE_TOKENIZER_REVISION), weights: true },
  );
}

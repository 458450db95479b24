/**
 * Every CLI verb that opens the studio imports the composition root; sharp (libvips), onnxruntime-node and
 * @huggingface/hub (a wasm module) cost ≈ 180 ms to import together, so they load when first used. A fresh
 * Node, as the CLI runs, records through a resolve hook which of them were asked for: none by importing the
 * studio, each once the code that needs it runs (which shows the hook sees dynamic imports too).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const WATCHED = ['sharp', 'onnxruntime-node', '@huggingface/hub'];
const url = (file: string): string => JSON.stringify(pathToFileURL(path.resolve(file)).href);

const CHILD = `
import { registerHooks } from 'node:module';
const watched = ${JSON.stringify(WATCHED)};
const resolved = new Set();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const name = watched.find((w) => specifier === w || specifier.startsWith(w + '/'));
    if (name !== undefined) resolved.add(name);
    return nextResolve(specifier, context);
  },
});
await import(${url('src/studio/studio.ts')});
const atStudio = [...resolved];
const sharp = await (await import(${url('src/core/load-sharp.ts')})).loadSharp();
const ort = await (await import(${url('src/datasets/tagging/load-onnxruntime.ts')})).loadOnnxRuntime();
const { createHfClient } = await import(${url('src/hub/hf/hf-client.ts')});
const { buildProviderPolicy } = await import(${url('src/hub/build-provider-policy.ts')});
// The search loads the library, then the safe fetch refuses its first request (an IP address) before connecting.
const search = await createHfClient({ policy: buildProviderPolicy({ provider: 'hf', env: {} }), endpoint: 'https://127.0.0.1:9' })
  .search({ query: 'x' })
  .then(() => 'answered', (error) => error.code);
console.log(JSON.stringify({
  atStudio,
  afterUse: [...resolved].sort(),
  sharpWidth: (await sharp({ create: { width: 2, height: 3, channels: 3, background: '#000' } }).metadata()).width,
  ortSession: typeof ort.InferenceSession.create,
  search,
}));
`;

describe('importing the studio', () => {
  it('loads neither sharp, onnxruntime-node nor @huggingface/hub; their first use does', () => {
    const child = spawnSync(process.execPath, ['--input-type=module', '--eval', CHILD], { encoding: 'utf8', timeout: 30_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual({
      atStudio: [],
      afterUse: ['@huggingface/hub', 'onnxruntime-node', 'sharp'],
      sharpWidth: 2,
      ortSession: 'function',
      search: 'invalid',
    });
  });
});

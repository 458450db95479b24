import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import { PickleWriter } from '../../formats/pickle/testing.ts';
import { validateSafetensorsFile } from '../../formats/safetensors/index.ts';
import { parseKohyaRunConfig } from '../schema/index.ts';
import { importKohyaToml } from './kohya-toml.ts';
import { convertOperatorInputs, prepareOperatorInputs } from './operator-inputs.ts';
import type { ImportSuccess } from './types.ts';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lorasmith-operator-'));
  await copyFile(path.resolve('test/fixtures/torch/lightning-sd.ckpt'), path.join(root, 'base.ckpt'));
  await mkdir(path.join(root, 'train', '5_cat'), { recursive: true });
  await writeFile(path.join(root, 'train', '5_cat', 'one.png'), PNG);
  await writeFile(path.join(root, 'train', '5_cat', 'two.PNG'), PNG);
  // sd-scripts reads only all-lower or all-upper extensions, and no dotfiles.
  await writeFile(path.join(root, 'train', '5_cat', 'three.Png'), PNG);
  await writeFile(path.join(root, 'train', '5_cat', '.hidden.png'), PNG);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function imported(text: string): ImportSuccess {
  const result = importKohyaToml(text, { family: 'sd1' });
  if (!result.ok) throw new Error(result.error.message);
  return result;
}

describe('prepareOperatorInputs', () => {
  it('puts placeholders in the config that parse, and maps each back to the scanned file or folder', async () => {
    const runDir = path.join(root, 'run');
    const run = await prepareOperatorInputs({ imported: imported('pretrained_model_name_or_path = "base.ckpt"\ntrain_data_dir = "train"\nresolution = 512\n'), baseDir: root, runDir });
    expect(run.issues).toEqual([]);
    const config = parseKohyaRunConfig(run.config);
    expect(config.model.base).toBe('operator:model.base');
    expect(config.datasets[0]?.dataset).toMatch(/^operator-input-\d+$/);
    expect(run.sources.models.get('operator:model.base')).toEqual({ path: path.join(runDir, 'inputs', 'model.base.safetensors'), kind: 'checkpoint', family: 'unknown', size: 2044 });
    expect(run.sources.datasets.get(config.datasets[0]?.dataset ?? '')?.subsets).toEqual([
      { name: '5_cat', dir: path.join(root, 'train', '5_cat'), repeats: 5, classTokens: 'cat', isReg: false, captionExtension: '.caption', files: ['one.png', 'two.PNG'] },
    ]);
    expect(run.labels.get('operator:model.base')).toBe(path.join(root, 'base.ckpt'));
  });

  it('converts a safe checkpoint into the run folder; one swapped for a booby-trapped pickle since the scan is refused', async () => {
    const runDir = path.join(root, 'run-convert');
    const run = await prepareOperatorInputs({ imported: imported(`pretrained_model_name_or_path = "${path.join(root, 'base.ckpt')}"\ntrain_data_dir = "train"\n`), baseDir: root, runDir });
    const [result] = await convertOperatorInputs(run.inputs);
    expect(result?.path).toBe(path.join(runDir, 'inputs', 'model.base.safetensors'));
    const written = await validateSafetensorsFile({ path: result?.path ?? '' });
    expect(written.ok).toBe(true);
    if (!written.ok) return;
    expect(written.header.tensors.map((tensor) => tensor.name).sort()).toEqual(['cond_stage_model.transformer.text_model.embeddings.position_ids', 'model.diffusion_model.input_blocks.0.0.bias', 'model.diffusion_model.input_blocks.0.0.weight']);
    expect(written.header.metadata['lorasmith.operator_input']).toBe('pretrained_model_name_or_path');

    const swapped = path.join(root, 'swapped.ckpt');
    await copyFile(path.join(root, 'base.ckpt'), swapped);
    const later = await prepareOperatorInputs({ imported: imported(`pretrained_model_name_or_path = "${swapped}"\n`), baseDir: root, runDir: path.join(root, 'run-swapped') });
    // posix.system("…") through GLOBAL + REDUCE: what a booby-trapped .ckpt does.
    await writeFile(swapped, new PickleWriter().proto(2).global('posix', 'system').str('true').op(0x85).op(0x52).op(0x2e).bytes());
    const refusal = await convertOperatorInputs(later.inputs).then(
      () => null,
      (error: unknown) => error,
    );
    expect(isLorasmithError(refusal) && refusal.code).toBe('convert.unsafe');
  });
});

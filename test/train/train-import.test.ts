/**
 * `lorasmith train THEIR-CONFIG` with another tool's config on a real workspace: the importer's unmapped-keys
 * report (human and --json), output_dir / logging_dir replaced by the run's work/, image folders linked like a
 * dataset, and every other file the config names taken as an operator input — listed in the plan, scanned
 * (a booby-trapped pickle refuses the run with its verdict), a safe PyTorch checkpoint converted into the run
 * folder, bound read-only. A resume state folder is refused; `--export-kohya` writes an sd-scripts config back.
 */
import { access, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { openStudio } from '../../src/studio/studio.ts';
import { parseTomlTyped } from '../../src/training/engines/kohya/toml-format.ts';
import { maliciousPickle } from '../helpers/model-files.ts';
import { PNG, makeTrainWorkspace, runToml, sd1CheckpointSafetensors, train, type TrainWorkspace } from './train-workspace.ts';

interface Issue {
  code: string;
  severity: string;
  path: string;
  message: string;
  hint: string;
}
interface Input {
  field: string;
  role: string;
  source: string;
  path: string;
  use: string;
  verdict?: string;
  format?: string;
  enginePath?: string;
  subsets?: Array<{ name: string; images: number; repeats: number; isReg: boolean }>;
}
interface DryRunJson {
  files: Record<string, string>;
  sandbox: { readOnly: string[]; writable: string[] };
  plan: { inputs: Input[]; steps: { total: number }; modelPaths: string[] };
  issues: Issue[];
  import: { format: string; unmapped: Array<{ key: string; value: unknown; reason: string }>; notes: string[] };
}

let ws: TrainWorkspace;
let ext: string;
let model: string;
let noGpu: NodeJS.ProcessEnv;

beforeAll(async () => {
  ws = await makeTrainWorkspace();
  // Another tool's files, outside the workspace.
  ext = path.join(ws.files, 'kohya-home');
  model = path.join(ext, 'models', 'sd15.safetensors');
  await mkdir(path.dirname(model), { recursive: true });
  await writeFile(model, sd1CheckpointSafetensors());
  await writeFile(path.join(ext, 'models', 'evil.ckpt'), maliciousPickle(`touch ${path.join(ext, 'pwned')}`));
  await copyFile(path.resolve('test/fixtures/torch/lightning-sd.ckpt'), path.join(ext, 'models', 'lightning-sd.ckpt'));
  for (const [folder, images] of [
    ['train/10_sks dog', ['a', 'b']],
    ['train/notes', ['ignored']],
    ['reg/1_dog', ['r']],
    ['flat', ['x']],
  ] as const) {
    await mkdir(path.join(ext, folder), { recursive: true });
    for (const image of images) {
      await writeFile(path.join(ext, folder, `${image}.png`), PNG);
      await writeFile(path.join(ext, folder, `${image}.caption`), `caption of ${image}`);
    }
  }
  await writeFile(path.join(ext, 'prompts.txt'), 'a photo of sks dog --n blurry --w 512 --h 512 --d 7\n# a comment\nsks dog on a beach --zz 3\n');
  await writeFile(
    path.join(ext, 'dataset.toml'),
    `[general]\nshuffle_caption = false\ncaption_extension = ".caption"\n\n[[datasets]]\nresolution = 512\nbatch_size = 1\n\n  [[datasets.subsets]]\n  image_dir = "train/10_sks dog"\n  num_repeats = 4\n  class_tokens = "sks dog"\n  flip_aug = true\n\n  [[datasets.subsets]]\n  image_dir = "${path.join(ext, 'reg', '1_dog')}"\n  is_reg = true\n`,
  );
  noGpu = { PATH: path.join(ext, 'flat') };
}, 120_000);

/** An sd-scripts `--config_file` TOML as the kohya_ss GUI writes it, relative model path included. */
function sdScriptsToml(extra = '', base = 'models/sd15.safetensors'): string {
  return `[model_arguments]
pretrained_model_name_or_path = "${base}"

[dataset_arguments]
train_data_dir = "${path.join(ext, 'train')}"
reg_data_dir = "${path.join(ext, 'reg')}"
resolution = "512,512"
caption_extension = ".caption"

[training_arguments]
output_dir = "/somewhere/else/out"
logging_dir = "/somewhere/else/logs"
network_module = "networks.lora"
network_dim = 8
network_alpha = 4
learning_rate = 1e-4
max_train_epochs = 2
train_batch_size = 1
mixed_precision = "bf16"
sample_prompts = "prompts.txt"
sample_every_n_epochs = 1
save_every_n_epochs = 1
mystery_option = 3
${extra}`;
}

async function file(name: string, text: string): Promise<string> {
  const target = path.join(ext, name);
  await writeFile(target, text);
  return target;
}

describe('train an sd-scripts config', () => {
  it('imports it: unmapped report, work/ output, linked image folders, scanned model bound read-only, prompts copied', async () => {
    const config = await file('kohya.toml', sdScriptsToml());
    const result = await train(ws, [config, '--dry-run', '--json', '--family', 'sd1'], noGpu);
    expect(result.code, result.stdout).toBe(0);
    const out = JSON.parse(result.stdout) as DryRunJson;
    expect(Object.keys(out)).toEqual(['engine', 'argv', 'env', 'cwd', 'files', 'sandbox', 'plan', 'issues', 'import']);

    expect(out.import.format).toBe('kohya');
    expect(out.import.unmapped).toContainEqual(expect.objectContaining({ key: 'mystery_option', value: 3 }));
    expect(out.import.unmapped).toContainEqual(expect.objectContaining({ key: 'sample_prompts', value: '--zz 3' }));
    expect(out.import.notes.join('\n')).toContain('output_dir "/somewhere/else/out" is not kept');
    expect(result.stdout).not.toContain('"/somewhere/else/out"');

    const runToml = out.files['<run>/run.toml'] ?? '';
    expect(runToml).toContain(`pretrained_model_name_or_path = ${JSON.stringify(model)}`);
    expect(runToml).toContain('output_dir = "<run>/work/output"');
    expect(runToml).toContain('logging_dir = "<run>/work/logs"');
    expect(runToml).not.toContain('somewhere');

    const datasetToml = out.files['<run>/dataset.toml'] ?? '';
    expect(datasetToml).toContain('image_dir = "<run>/work/images/0/10_sks dog"');
    expect(datasetToml).toContain('class_tokens = "sks dog"');
    expect(datasetToml).toContain('num_repeats = 10');
    expect(datasetToml).toContain('is_reg = true');
    expect(datasetToml).toContain('caption_extension = ".caption"');
    expect(out.files['<run>/sample-prompts.txt']).toContain('a photo of sks dog');

    expect(out.sandbox.readOnly).toEqual(expect.arrayContaining([model, path.join(ext, 'train', '10_sks dog'), path.join(ext, 'reg', '1_dog')]));
    expect(out.sandbox.readOnly).not.toContain(path.join(ext, 'train', 'notes'));
    expect(out.sandbox.writable).toEqual(['<run>/work']);

    const byField = new Map(out.plan.inputs.map((input) => [input.field, input]));
    expect(byField.get('model.base')).toMatchObject({ role: 'model', source: 'pretrained_model_name_or_path', path: model, use: 'bind', verdict: 'safe', format: 'safetensors', enginePath: model });
    expect(byField.get('datasets[0].dataset')).toMatchObject({ use: 'link-images', subsets: [{ name: '10_sks dog', images: 2, repeats: 10, isReg: false }] });
    expect(byField.get('datasets[0].regularisation[0].dataset')).toMatchObject({ use: 'link-images', subsets: [{ name: '1_dog', images: 1, repeats: 1, isReg: true }] });
    expect(byField.get('sampling.prompts')).toMatchObject({ use: 'copy-prompts', path: path.join(ext, 'prompts.txt') });
    expect(out.issues).toContainEqual(expect.objectContaining({ code: 'operator-folder-skipped', severity: 'warning', message: expect.stringContaining(path.join(ext, 'train', 'notes')) }));
    // 2 images × 10 repeats, plus as many regularisation entries (kohya balances them), for 2 epochs.
    expect(out.plan.steps.total).toBe(80);

    const human = await train(ws, [config, '--dry-run', '--family', 'sd1'], noGpu);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Imported ${config} as a kohya config.`);
    expect(human.stdout).toMatch(/Not mapped \(\d+; not part of the run\):/);
    expect(human.stdout).toContain('mystery_option = 3: no lorasmith run-config field for this sd-scripts option');
    expect(human.stdout).toContain('operator inputs (outside the workspace)');
    expect(human.stdout).toContain(`model.base  ${model}  (pretrained_model_name_or_path: safe safetensors, bound read-only)`);
  });

  it('detects the format without --from, and takes --from kohya', async () => {
    const config = await file('detect.toml', sdScriptsToml());
    for (const args of [[], ['--from', 'kohya']]) {
      const result = await train(ws, [config, '--dry-run', '--json', ...args], noGpu);
      const out = JSON.parse(result.stdout) as DryRunJson;
      expect(out.import.format).toBe('kohya');
      // A plain sd-scripts TOML does not name its trainer: the family was guessed from the resolution, and said so.
      expect(out.import.notes.join('\n')).toContain('guessed as sd1');
    }
  });

  it('a dataset_config: its subsets become link folders with their own repeats; its other keys are reported', async () => {
    const config = await file('with-dataset.toml', `pretrained_model_name_or_path = "${model}"\ndataset_config = "dataset.toml"\nnetwork_module = "networks.lora"\nnetwork_dim = 8\nresolution = "512,512"\nmax_train_epochs = 1\n`);
    const result = await train(ws, [config, '--dry-run', '--json', '--family', 'sd1'], noGpu);
    expect(result.code, result.stdout).toBe(0);
    const out = JSON.parse(result.stdout) as DryRunJson;
    const input = out.plan.inputs.find((entry) => entry.field === 'datasets[0].dataset');
    expect(input).toMatchObject({ role: 'dataset-config', use: 'read', path: path.join(ext, 'dataset.toml') });
    expect(input?.subsets).toEqual([
      expect.objectContaining({ name: '10_sks dog', repeats: 4, isReg: false, images: 2 }),
      expect.objectContaining({ name: '1_dog', repeats: 1, isReg: true, images: 1 }),
    ]);
    expect(out.files['<run>/dataset.toml']).toContain('num_repeats = 4');
    expect(out.import.unmapped.map((entry) => entry.key)).toEqual(expect.arrayContaining(['dataset_config.datasets[0].subsets[0].flip_aug', 'dataset_config.datasets[0].resolution', 'dataset_config.general.shuffle_caption']));
  });

  it('a booby-trapped pickle as the base model refuses the run with its verdict; nothing of it runs', async () => {
    const config = await file('evil.toml', sdScriptsToml('', 'models/evil.ckpt'));
    const result = await train(ws, [config, '--dry-run', '--json', '--family', 'sd1'], noGpu);
    expect(result.code).toBe(1);
    const out = JSON.parse(result.stdout) as { issues: Issue[]; import: unknown };
    expect(Object.keys(out)).toEqual(['issues', 'import']);
    const refusal = out.issues.find((found) => found.path === 'model.base');
    expect(refusal).toMatchObject({ code: 'unsafe', severity: 'error', message: expect.stringContaining(path.join(ext, 'models', 'evil.ckpt')) });
    expect(refusal?.message).toContain('posix.system');
    // Reported once, by the scan: validation does not add "not in the model library" for the same field.
    expect(out.issues.filter((found) => found.path === 'model.base')).toHaveLength(1);
    await expect(readFile(path.join(ext, 'pwned'))).rejects.toThrow();
  });

  it('a safe PyTorch checkpoint is converted into the run folder, and the engine reads the copy', async () => {
    const config = await file('pickle.toml', sdScriptsToml('', 'models/lightning-sd.ckpt'));
    const result = await train(ws, [config, '--dry-run', '--json', '--family', 'sd1'], noGpu);
    expect(result.code, result.stdout).toBe(0);
    const out = JSON.parse(result.stdout) as DryRunJson;
    const ckpt = path.join(ext, 'models', 'lightning-sd.ckpt');
    expect(out.plan.inputs.find((entry) => entry.field === 'model.base')).toMatchObject({ path: ckpt, use: 'convert', verdict: 'safe', format: 'torch-zip', enginePath: '<run>/inputs/model.base.safetensors' });
    expect(out.files['<run>/run.toml']).toContain('pretrained_model_name_or_path = "<run>/inputs/model.base.safetensors"');
    expect(out.sandbox.readOnly).not.toContain(ckpt);
    expect(out.plan.modelPaths).toEqual(['<run>/inputs/model.base.safetensors']);
    // Its family cannot be told from three tensors: a warning that names the file, not a placeholder.
    expect(out.issues).toContainEqual(expect.objectContaining({ code: 'model-family-unknown', severity: 'warning', message: expect.stringContaining(ckpt) }));
    expect(result.stdout).not.toContain('operator:');
  });

  it('refuses a resume state folder from outside the studio, with a hint', async () => {
    const config = await file('resume.toml', sdScriptsToml('resume = "/elsewhere/last-state"\n'));
    const result = await train(ws, [config, '--dry-run', '--json'], noGpu);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'resume-refused', message: expect.stringContaining('/elsewhere/last-state'), hint: expect.stringContaining('network_weights') } });
  });

  it('missing inputs and a flat image folder are errors that say what sd-scripts wants', async () => {
    const config = await file('missing.toml', sdScriptsToml('', 'models/none.safetensors').replace(path.join(ext, 'train'), path.join(ext, 'flat')));
    const result = await train(ws, [config, '--dry-run', '--json', '--family', 'sd1'], noGpu);
    expect(result.code).toBe(1);
    const out = JSON.parse(result.stdout) as { issues: Issue[] };
    expect(out.issues).toContainEqual(expect.objectContaining({ code: 'operator-input-missing', path: 'model.base', message: expect.stringContaining(path.join(ext, 'models', 'none.safetensors')) }));
    expect(out.issues).toContainEqual(expect.objectContaining({ code: 'operator-folder-layout', path: 'datasets[0].dataset', message: expect.stringContaining('No data found') }));
  });

  it('a LoRA Easy Training config: its subset folder is linked with the repeats it set', async () => {
    const config = await file(
      'lets.toml',
      `[general_args.args]\npretrained_model_name_or_path = "${model}"\nmax_train_epochs = 1\n[general_args.dataset_args]\nresolution = 512\nbatch_size = 1\n[network_args.args]\nnetwork_dim = 8\nnetwork_alpha = 4.0\n[optimizer_args.args]\noptimizer_type = "AdamW8bit"\nlearning_rate = 0.0001\n[saving_args.args]\noutput_dir = "/out"\n[[subsets]]\nname = "main"\nimage_dir = "${path.join(ext, 'flat')}"\nnum_repeats = 3\ncaption_extension = ".caption"\n[train_mode]\ntrain_mode = "lora"\n`,
    );
    const result = await train(ws, [config, '--dry-run', '--json'], noGpu);
    expect(result.code, result.stdout).toBe(0);
    const out = JSON.parse(result.stdout) as DryRunJson;
    expect(out.import.format).toBe('let');
    expect(out.plan.inputs.find((entry) => entry.field === 'datasets[0].dataset')).toMatchObject({ source: 'subsets[0].image_dir', subsets: [{ name: 'main', images: 1 }] });
    expect(out.files['<run>/dataset.toml']).toContain('image_dir = "<run>/work/images/0/main"');
    expect(out.files['<run>/dataset.toml']).toContain('num_repeats = 3');
  });
});

describe('train --export-kohya', () => {
  it('writes an imported config back as an sd-scripts config that trains the same files', async () => {
    const config = await file('roundtrip.toml', sdScriptsToml());
    const output = path.join(ext, 'exported.toml');
    const result = await train(ws, [config, '--family', 'sd1', '--export-kohya', output, '--json'], noGpu);
    expect(result.code, result.stdout).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ output, script: 'train_network.py' });
    // Its folders already follow sd-scripts' naming: no dataset config.
    expect(JSON.parse(result.stdout)).not.toHaveProperty('datasetConfig');
    await expect(access(path.join(ext, 'exported.dataset.toml'))).rejects.toThrow();
    const text = await readFile(output, 'utf8');
    expect(text).toMatch(/^# Written by lorasmith for sd-scripts train_network.py/);
    expect(text).toContain(`pretrained_model_name_or_path = ${JSON.stringify(model)}`);
    expect(text).toContain(`train_data_dir = ${JSON.stringify(path.join(ext, 'train'))}`);
    expect(text).toContain(`reg_data_dir = ${JSON.stringify(path.join(ext, 'reg'))}`);
    expect(text).not.toContain('operator');
    // The export imports again, as the same run.
    const again = await train(ws, [output, '--dry-run', '--json'], noGpu);
    expect(again.code, again.stdout).toBe(0);
    expect((JSON.parse(again.stdout) as DryRunJson).plan.steps.total).toBe(80);
    // An existing file is kept unless --force.
    expect((await train(ws, [config, '--family', 'sd1', '--export-kohya', output], noGpu)).code).toBe(2);
    expect((await train(ws, [config, '--family', 'sd1', '--export-kohya', output, '--force'], noGpu)).code).toBe(0);
  });

  it('writes a lorasmith run with the library’s files and a dataset config naming its subset folders', async () => {
    // A regularisation dataset beside the workspace's "dogs" (10 × "sks dog", 2 × extra).
    const studio = await openStudio({ home: ws.home, env: {}, log: createLogger({ level: 'warn' }) });
    try {
      await studio.datasets.create('dogs-reg');
      await studio.datasets.setSubset('dogs-reg', 'dog', { repeats: 1, classTokens: 'dog' });
      for (const name of ['r1', 'r2']) await writeFile(path.join(studio.datasets.root, 'dogs-reg', 'dog', `${name}.png`), PNG);
    } finally {
      await studio.close();
    }
    const config = path.join(ws.files, 'ours.toml');
    await writeFile(config, runToml({ base: ws.checkpointId, extra: '[memory]\ncacheLatents = "disk"\n' }).replace('dataset = "dogs"\n', 'dataset = "dogs"\nregularisation = [{ dataset = "dogs-reg" }]\n'));
    const output = path.join(ws.files, 'ours-exported.toml');
    const datasetOutput = path.join(ws.files, 'ours-exported.dataset.toml');
    const result = await train(ws, [config, '--export-kohya', output], noGpu);
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toContain(`Wrote ${output}: an sd-scripts config for train_network.py`);
    expect(result.stdout).toContain(`Wrote ${datasetOutput}`);
    expect(result.stdout).toContain('warning: sd-scripts writes its disk caches');
    expect(result.stdout).not.toContain('train_data_dir');
    const text = await readFile(output, 'utf8');
    expect(text).toMatch(new RegExp(`pretrained_model_name_or_path = "${path.join(ws.home, 'models').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/.*sd15-standin\\.safetensors"`));
    const flat = parseTomlTyped(text);
    expect(flat.dataset_config).toBe(datasetOutput);
    expect(flat).not.toHaveProperty('train_data_dir');
    expect(flat).not.toHaveProperty('reg_data_dir');

    // The dataset config: each subset's real folder with its repeats and class tokens, the regularisation one is_reg.
    const datasets = parseTomlTyped(await readFile(datasetOutput, 'utf8')).datasets as Array<{ subsets: Array<Record<string, unknown>> }>;
    const root = path.join(ws.home, 'datasets');
    expect(datasets).toHaveLength(1);
    expect(datasets[0]?.subsets.map(({ image_dir, num_repeats, class_tokens, is_reg }) => ({ image_dir, num_repeats, class_tokens, is_reg }))).toEqual([
      { image_dir: path.join(root, 'dogs', 'dog'), num_repeats: 10n, class_tokens: 'sks dog', is_reg: undefined },
      { image_dir: path.join(root, 'dogs', 'extra'), num_repeats: 2n, class_tokens: undefined, is_reg: undefined },
      { image_dir: path.join(root, 'dogs-reg', 'dog'), num_repeats: 1n, class_tokens: 'dog', is_reg: true },
    ]);

    // The pair imports again (sd-scripts' --config_file with its dataset_config) as the same run: same subsets, same steps.
    const ours = await train(ws, [config, '--dry-run', '--json'], noGpu);
    expect(ours.code, ours.stdout).toBe(0);
    const again = await train(ws, [output, '--family', 'sd1', '--dry-run', '--json'], noGpu);
    expect(again.code, again.stdout).toBe(0);
    const back = JSON.parse(again.stdout) as DryRunJson;
    expect(back.plan.inputs.find((entry) => entry.field === 'datasets[0].dataset')).toMatchObject({
      role: 'dataset-config',
      path: datasetOutput,
      subsets: [
        { name: 'dog', images: 3, repeats: 10, isReg: false },
        { name: 'extra', images: 1, repeats: 2, isReg: false },
        { images: 2, repeats: 1, isReg: true },
      ],
    });
    expect(back.plan.steps.total).toBe((JSON.parse(ours.stdout) as DryRunJson).plan.steps.total);

    // Both files or neither: either one already there refuses the export (nothing written) unless --force.
    await rm(output);
    const kept = await train(ws, [config, '--export-kohya', output, '--json'], noGpu);
    expect(kept.code).toBe(2);
    expect(kept.stdout + kept.stderr).toContain(`${datasetOutput} already exists`);
    await expect(access(output)).rejects.toThrow();
    const forced = await train(ws, [config, '--export-kohya', output, '--force', '--json'], noGpu);
    expect(forced.code, forced.stdout).toBe(0);
    expect(JSON.parse(forced.stdout)).toEqual({ output, script: 'train_network.py', warnings: [expect.stringContaining('disk caches')], datasetConfig: datasetOutput });

    const refused = await train(ws, [path.join(ws.files, 'ours.toml'), '--export-kohya', output, '--dry-run'], noGpu);
    expect(refused.code).toBe(2);
  });
});

/**
 * `lorasmith train CONFIG --dry-run [--json]` on a real workspace: a checkpoint imported through the library, a
 * dataset on disk, an HF token in the secret store. The verb runs in-process, with errors reported exactly as
 * main() reports them. The plan's GPU, time and disk parts: train-plan.test.ts; imported configs: train-import.test.ts.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sd15Pipeline } from '../hub/model-sets.ts';
import { HF_CANARY, makeTrainWorkspace, runCli, runToml, train, type TrainWorkspace } from './train-workspace.ts';

let ws: TrainWorkspace;

beforeAll(async () => {
  ws = await makeTrainWorkspace();
}, 120_000);

const run = (args: string[], env: NodeJS.ProcessEnv = {}) => train(ws, args, env);

async function configFile(name: string, text: string): Promise<string> {
  const file = path.join(ws.files, name);
  await writeFile(file, text);
  return file;
}

interface DryRunJson {
  engine: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  files: Record<string, string>;
  sandbox: { readOnly: string[]; writable: string[]; network: boolean };
  plan: { script: string; outputFile: string; datasets: Array<{ subsets: Array<{ name: string; numRepeats?: number; sourceDir: string }> }>; modelPaths: string[] };
  issues: Array<{ code: string; severity: string; path: string }>;
}

describe('train --dry-run --json', () => {
  it('prints the launch of a valid run: DESIGN §4 argv, run.toml and dataset.toml under <run>, placeholders for a missing engine', async () => {
    const file = await configFile('run.toml', runToml({ base: ws.checkpointId }));
    const result = await run([file, '--dry-run', '--json']);
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as DryRunJson;
    expect(Object.keys(out)).toEqual(['engine', 'argv', 'env', 'cwd', 'files', 'sandbox', 'plan', 'issues']);
    expect(out.engine).toBe('kohya');
    expect(out.argv).toEqual([
      '/<kohya-not-installed>/venv/bin/python',
      '-E',
      '-s',
      '-u',
      '-X',
      'utf8',
      '/<kohya-not-installed>/sd-scripts/train_network.py',
      '--config_file',
      '<run>/run.toml',
      '--dataset_config',
      '<run>/dataset.toml',
      '--console_log_simple',
    ]);
    expect(out.cwd).toBe('<run>/work');
    expect(Object.keys(out.files)).toEqual(['<run>/run.toml', '<run>/dataset.toml']);
    const runTomlText = out.files['<run>/run.toml'] ?? '';
    const modelFile = out.plan.modelPaths[0] ?? '';
    expect(modelFile.startsWith(path.join(ws.home, 'models'))).toBe(true);
    expect(runTomlText).toContain(`pretrained_model_name_or_path = ${JSON.stringify(modelFile)}`);
    expect(runTomlText).toContain('output_name = "sks-dog"');
    expect(runTomlText).toContain('network_module = "networks.lora"');
    expect(runTomlText).toContain('seed = 1234');
    expect(runTomlText).toContain('output_dir = "<run>/work/output"');
    const datasetText = out.files['<run>/dataset.toml'] ?? '';
    expect(datasetText).toContain('image_dir = "<run>/work/images/0/dog"');
    expect(datasetText).toContain('num_repeats = 10');
    expect(datasetText).toContain('class_tokens = "sks dog"');
    expect(out.plan.datasets[0]?.subsets.map((subset) => [subset.name, subset.numRepeats])).toEqual([
      ['dog', 10],
      ['extra', 2],
    ]);
    expect(out.plan.outputFile).toBe('<run>/work/output/sks-dog.safetensors');
    expect(out.sandbox).toMatchObject({ writable: ['<run>/work'], network: false });
    expect(out.sandbox.readOnly).toEqual(expect.arrayContaining([modelFile, path.join(ws.home, 'datasets', 'dogs', 'dog')]));
    expect(out.env).toMatchObject({ HF_HUB_OFFLINE: '1', HOME: '<run>/work/home' });
    expect(out.issues.filter((found) => found.severity === 'error')).toEqual([]);
  });

  it('never shows a token: not the secret store’s, not HF_TOKEN, not an hf_ string in the config', async () => {
    const file = await configFile('canary.json', JSON.stringify({
      schema: 'lorasmith/run@1',
      kind: 'kohya',
      family: 'sd1',
      model: { base: ws.checkpointId },
      datasets: [{ dataset: 'dogs' }],
      resolution: { width: 512, height: 512 },
      saving: { saveState: true },
      sampling: { prompts: [{ prompt: `sks dog ${HF_CANARY}`, seed: 1 }], everyNEpochs: 1 },
    }));
    const result = await run([file, '--dry-run', '--json']);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain(HF_CANARY);
    expect(result.stdout).not.toContain('CanaryTrainDryRun');
    const out = JSON.parse(result.stdout) as DryRunJson;
    expect(Object.keys(out.env)).not.toContain('HF_TOKEN');
    expect(Object.keys(out.files)).toContain('<run>/sample-prompts.txt');
    const human = await run([file, '--dry-run']);
    expect(human.code).toBe(0);
    expect(human.stdout).not.toContain('CanaryTrainDryRun');
  });

  it('uses LORASMITH_KOHYA_ROOT / LORASMITH_KOHYA_PYTHON when they point at an engine', async () => {
    const engine = path.join(ws.files, 'engine');
    await mkdir(path.join(engine, 'sd-scripts'), { recursive: true });
    await mkdir(path.join(engine, 'venv', 'bin'), { recursive: true });
    await writeFile(path.join(engine, 'venv', 'bin', 'python'), '');
    const file = await configFile('run.toml', runToml({ base: ws.checkpointId }));
    const result = await run([file, '--dry-run', '--json'], { LORASMITH_KOHYA_ROOT: path.join(engine, 'sd-scripts'), LORASMITH_KOHYA_PYTHON: path.join(engine, 'venv', 'bin', 'python') });
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as DryRunJson;
    expect(out.argv[0]).toBe(path.join(engine, 'venv', 'bin', 'python'));
    expect(out.argv[6]).toBe(path.join(engine, 'sd-scripts', 'train_network.py'));
    expect(out.env.PATH?.startsWith(path.join(engine, 'venv', 'bin'))).toBe(true);
    expect(result.stdout).not.toContain('kohya-not-installed');
  });

  it('a diffusers pipeline as the base model: sd-scripts is given the pipeline folder, not its U-Net file', async () => {
    const folder = path.join(ws.files, 'sd15-pipeline');
    for (const member of sd15Pipeline()) {
      await mkdir(path.dirname(path.join(folder, member.path)), { recursive: true });
      await writeFile(path.join(folder, member.path), member.content);
    }
    const imported = runCli(ws.home, ['models', 'import', folder, '--json']);
    expect(imported.code, imported.stdout + imported.stderr).toBe(0);
    const id = (JSON.parse(imported.stdout.trim().split('\n').at(-1) ?? '{}') as { result: { model: { id: string } } }).result.model.id;
    const result = await run([await configFile('pipeline.toml', runToml({ base: id })), '--dry-run', '--json']);
    expect(result.code, result.stdout).toBe(0);
    const out = JSON.parse(result.stdout) as DryRunJson;
    const base = out.plan.modelPaths[0] ?? '';
    expect(existsSync(path.join(base, 'model_index.json')), base).toBe(true);
    expect(out.files['<run>/run.toml']).toContain(`pretrained_model_name_or_path = ${JSON.stringify(base)}`);
  });

  it('continues from a library LoRA (network_weights bound read-only)', async () => {
    const file = await configFile('continue.toml', runToml({ base: ws.checkpointId, extra: `\n[network]\ninitialWeights = "${ws.loraId}"\n` }));
    const result = await run([file, '--dry-run', '--json']);
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as DryRunJson;
    expect(out.files['<run>/run.toml']).toMatch(/network_weights = ".*models.*"/);
    expect(out.plan.modelPaths).toHaveLength(2);
  });

  it('exits 1 with {issues} when the run has errors: missing model, wrong kind, empty dataset, unknown subset, shape errors', async () => {
    const cases: Array<[string, string, string]> = [
      ['missing.toml', runToml({ base: 'no-such-model' }), 'model-missing'],
      ['kind.toml', runToml({ base: ws.loraId }), 'model-kind-mismatch'],
      ['empty.toml', runToml({ base: ws.checkpointId, dataset: 'empty' }), 'dataset-empty'],
      ['nodata.toml', runToml({ base: ws.checkpointId, dataset: 'nope' }), 'dataset-missing'],
      ['shape.toml', runToml({ base: ws.checkpointId, extra: '\n[network]\ndim = 0\n' }), 'schema'],
    ];
    for (const [name, text, code] of cases) {
      const result = await run([await configFile(name, text), '--dry-run', '--json']);
      expect(result.code, name).toBe(1);
      const out = JSON.parse(result.stdout) as { issues: Array<{ code: string; severity: string }> };
      expect(Object.keys(out), name).toEqual(['issues']);
      expect(out.issues.map((found) => found.code), name).toContain(code);
    }
    const unknownSubset = await configFile(
      'subset.json',
      JSON.stringify({ schema: 'lorasmith/run@1', kind: 'kohya', family: 'sd1', model: { base: ws.checkpointId }, datasets: [{ dataset: 'dogs', subsets: [{ name: 'cats' }] }], resolution: { width: 512, height: 512 } }),
    );
    const result = await run([unknownSubset, '--dry-run', '--json']);
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as { issues: Array<{ code: string; path: string }> }).issues).toContainEqual(expect.objectContaining({ code: 'run-subset-missing', path: 'datasets[0].subsets[0].name' }));
  });

  it('a subset left out, or repeats changed, only for this run', async () => {
    const file = await configFile(
      'override.json',
      JSON.stringify({
        schema: 'lorasmith/run@1',
        kind: 'kohya',
        family: 'sd1',
        model: { base: ws.checkpointId },
        datasets: [{ dataset: 'dogs', subsets: [{ name: 'extra', include: false }, { name: 'dog', repeats: 3, classTokens: 'ohwx dog' }] }],
        resolution: { width: 512, height: 512 },
      }),
    );
    const result = await run([file, '--dry-run', '--json']);
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as DryRunJson;
    expect(out.plan.datasets[0]?.subsets.map((subset) => [subset.name, subset.numRepeats])).toEqual([['dog', 3]]);
    expect(out.files['<run>/dataset.toml']).toContain('class_tokens = "ohwx dog"');
  });
});

describe('train: launching, unknown formats and unreadable files are refused with exit 2', () => {
  it('without --dry-run the run is queued as a job, which refuses to start when the engine is not installed', async () => {
    const file = await configFile('run.toml', runToml({ base: ws.checkpointId }));
    const result = await run([file, '--json']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'engine-not-installed' } });
    const human = await run([file]);
    expect(human.code).toBe(2);
    expect(human.stderr).toContain('cannot start');
  });

  it('a file that is no config, or an unknown format, is refused with the hint to name it', async () => {
    const yaml = await configFile('run.yaml', 'a: 1\n');
    const result = await run([yaml, '--dry-run', '--json']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'config-unreadable' } });
    const unknown = await configFile('unknown.toml', 'colour = "blue"\n');
    const other = await run([unknown, '--dry-run', '--json']);
    expect(other.code).toBe(2);
    expect(JSON.parse(other.stdout)).toMatchObject({ error: { code: 'format-unknown', hint: expect.stringContaining('--from kohya|kohya-gui|let|ktiseos') } });
    expect((await run([unknown, '--from', 'yaml', '--dry-run'])).code).toBe(2);
  });

  it('usage and unreadable files', async () => {
    expect((await run(['--dry-run'])).code).toBe(2);
    expect((await run([path.join(ws.files, 'absent.toml'), '--dry-run', '--json'])).code).toBe(2);
    const broken = await configFile('broken.toml', 'schema = "lorasmith/run@1"\nkind = \n');
    const result = await run([broken, '--dry-run', '--json']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'config-unreadable' } });
  });

  it('human output shows the launch and says nothing was launched', async () => {
    const file = await configFile('run.toml', runToml({ base: ws.checkpointId }));
    const result = await run([file, '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('nothing was launched');
    expect(result.stdout).toContain('kohya sd-scripts is not installed');
    expect(result.stdout).toContain('--- <run>/run.toml');
    expect(result.stdout).toContain('--- <run>/dataset.toml');
  });

  it('a FluxFlow run shows fluxflow-train, its pipeline steps and the pipeline YAML', async () => {
    const file = await configFile(
      'fluxflow.toml',
      ['schema = "lorasmith/run@1"', 'kind = "fluxflow"', '[data]', 'dataset = "dogs"', '[[pipeline.steps]]', 'name = "vae"', 'nEpochs = 1', 'trainVae = true', '[pipeline.steps.optimizers.vae]', 'type = "AdamW"', 'lr = 1e-5', ''].join('\n'),
    );
    const result = await run([file, '--dry-run']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('engine   fluxflow-train (pipeline mode)');
    expect(result.stdout).toMatch(/pipeline\n  vae  1 epoch  on dogs  \(train_vae\)/);
    expect(result.stdout).toContain('--- <run>/pipeline.yaml');
  });
});

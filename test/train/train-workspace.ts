/**
 * A workspace ready for a kohya dry run: an SD 1.x checkpoint stand-in imported through the real CLI (scan,
 * fingerprint, library), a dataset with one captioned subset, an empty dataset, a LoRA, and an HF token canary
 * in the secret store.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { reportError, type CliIO } from '../../src/cli/io.ts';
import { trainVerb } from '../../src/cli/verbs/train.ts';
import { createLogger } from '../../src/core/logger.ts';
import { buildSafetensors, type FixtureTensor } from '../../src/formats/safetensors/testing.ts';
import { openStudio } from '../../src/studio/studio.ts';
import { sd1LoraSafetensors } from '../helpers/model-files.ts';
import { makeHome } from '../helpers/studio.ts';

export const HF_CANARY = 'hf_CanaryTrainDryRun0123456789abcdefXYZ';

/** A 1×1 PNG. */
export const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

/** An SD 1.x checkpoint's key layout (LDM names: U-Net, CLIP-L text model, VAE), tiny shapes where the detector allows. */
export function sd1CheckpointSafetensors(): Buffer {
  const tensors: FixtureTensor[] = [
    { name: 'model.diffusion_model.input_blocks.0.0.weight', dtype: 'F16', shape: [320, 4, 3, 3] },
    { name: 'model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight', dtype: 'F16', shape: [320, 768] },
    { name: 'model.diffusion_model.out.2.weight', dtype: 'F16', shape: [4, 320, 3, 3] },
    { name: 'cond_stage_model.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight', dtype: 'F16', shape: [768, 768] },
    { name: 'first_stage_model.encoder.down.0.block.0.conv1.weight', dtype: 'F16', shape: [128, 128, 3, 3] },
    { name: 'first_stage_model.quant_conv.weight', dtype: 'F16', shape: [8, 8, 1, 1] },
  ];
  return buildSafetensors({ tensors });
}

const cli = path.resolve('src/cli/main.ts');

export function runCli(home: string, args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, LORASMITH_HOME: home, LORASMITH_LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function importModel(home: string, file: string): string {
  const imported = runCli(home, ['models', 'import', file, '--json']);
  if (imported.code !== 0) throw new Error(`import of ${file} failed: ${imported.stdout}${imported.stderr}`);
  const lines = imported.stdout.trim().split('\n');
  const summary = JSON.parse(lines[lines.length - 1] ?? '{}') as { task?: { result?: { model?: { id: string } } } };
  const id = summary.task?.result?.model?.id;
  if (id === undefined) throw new Error(`no model id in ${imported.stdout}`);
  return id;
}

export interface TrainWorkspace {
  home: string;
  checkpointId: string;
  loraId: string;
  /** Folder for config files outside the workspace. */
  files: string;
}

export async function makeTrainWorkspace(): Promise<TrainWorkspace> {
  const home = await makeHome();
  const files = await makeHome();
  await writeFile(path.join(files, 'sd15-standin.safetensors'), sd1CheckpointSafetensors());
  await writeFile(path.join(files, 'old-lora.safetensors'), sd1LoraSafetensors());
  const checkpointId = importModel(home, path.join(files, 'sd15-standin.safetensors'));
  const loraId = importModel(home, path.join(files, 'old-lora.safetensors'));

  const studio = await openStudio({ home, env: {}, log: createLogger({ level: 'warn' }) });
  try {
    await studio.secrets.set('hf', HF_CANARY);
    await studio.datasets.create('dogs');
    await studio.datasets.setSubset('dogs', 'dog', { repeats: 10, classTokens: 'sks dog' });
    const subset = path.join(studio.datasets.root, 'dogs', 'dog');
    for (const name of ['001', '002', '003']) {
      await writeFile(path.join(subset, `${name}.png`), PNG);
      await writeFile(path.join(subset, `${name}.txt`), `sks dog, photo ${name}`);
    }
    await studio.datasets.setSubset('dogs', 'extra', { repeats: 2 });
    await writeFile(path.join(studio.datasets.root, 'dogs', 'extra', 'x.png'), PNG);
    await studio.datasets.create('empty');
    await mkdir(path.join(studio.datasets.root, 'empty', 'nothing'), { recursive: true });
  } finally {
    await studio.close();
  }
  return { home, checkpointId, loraId, files };
}

/** A minimal valid SD 1.x run in our schema, as TOML. */
export function runToml(params: { base: string; dataset?: string; extra?: string }): string {
  return `schema = "lorasmith/run@1"
kind = "kohya"
name = "sks-dog"
family = "sd1"
seed = 1234

[model]
base = "${params.base}"

[[datasets]]
dataset = "${params.dataset ?? 'dogs'}"

[resolution]
width = 512
height = 512

[saving]
saveState = true
everyNEpochs = 1
${params.extra ?? ''}`;
}

/**
 * `lorasmith train ARGS` in-process, with errors reported exactly as main() reports them. `env` is the whole
 * environment the verb sees besides the workspace (PATH decides which nvidia-smi the GPU probe finds).
 */
export async function train(ws: Pick<TrainWorkspace, 'home'>, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        append(chunk.toString('utf8'));
        callback();
      },
    });
  const io: CliIO = {
    stdout: sink((text) => (stdout += text)),
    stderr: sink((text) => (stderr += text)),
    stdin: new PassThrough(),
    env: { LORASMITH_HOME: ws.home, LORASMITH_LOG_LEVEL: 'warn', HF_TOKEN: HF_CANARY, ...env },
  };
  let code: number;
  try {
    code = await trainVerb.run(args, io);
  } catch (error) {
    code = reportError(io, args.includes('--json'), error);
  }
  return { code, stdout, stderr };
}

/**
 * A folder holding only a fake `nvidia-smi`: a Node script (no shell) that prints `stdout` and exits with
 * `exitCode`. Used as the whole PATH of a dry run, so the GPU probe meets exactly this program.
 */
export async function fakeNvidiaSmi(params: { stdout?: string; stderr?: string; exitCode?: number }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lorasmith-smi-'));
  const body = `process.stdout.write(${JSON.stringify(params.stdout ?? '')}); process.stderr.write(${JSON.stringify(params.stderr ?? '')}); process.exitCode = ${params.exitCode ?? 0};`;
  await writeFile(path.join(dir, 'nvidia-smi'), `#!${process.execPath}\n${body}\n`);
  await chmod(path.join(dir, 'nvidia-smi'), 0o755);
  return dir;
}

import { describe, expect, it } from 'vitest';
import { LOG_EXCERPTS } from './fixtures/log-excerpts.ts';
import { LineSplitter } from './line-splitter.ts';
import { KohyaOutputParser, parseKohyaOutput, type KohyaEvent, type KohyaProgressEvent } from './parse-output.ts';

function excerpt(name: string, index = 0): string {
  const text = LOG_EXCERPTS[name]?.[index];
  if (text === undefined) throw new Error(`no excerpt ${name}[${index}]`);
  return text;
}

const of = <K extends KohyaEvent['kind']>(events: KohyaEvent[], kind: K) => events.filter((e): e is Extract<KohyaEvent, { kind: K }> => e.kind === kind);
const errors = (events: KohyaEvent[]) => of(events, 'error');

describe('KohyaOutputParser on the reference log excerpts (§5.6)', () => {
  it('L1: a NaN loss bar is progress without a loss, plus one non-fatal nan-loss error; the Rich "epoch is incremented" line is not an epoch', () => {
    const { events } = parseKohyaOutput(excerpt('L1'));
    const [progress] = of(events, 'progress');
    expect(progress).toMatchObject({ bar: 'training', step: 943, total: 3280, percent: 29, elapsedS: 18 * 60 + 48, remainingS: 46 * 60 + 37, secPerIt: 1.2, postfix: { avr_loss: 'nan' } });
    expect(progress?.loss).toBeUndefined();
    expect(progress?.itPerSec).toBeCloseTo(1 / 1.2);
    expect(errors(events)).toEqual([expect.objectContaining({ code: 'nan-loss', fatal: false })]);
    expect(errors(events)[0]?.hint).toMatch(/learning rate/);
    expect(of(events, 'epoch')).toEqual([{ kind: 'epoch', epoch: 24, total: 80 }]);
  });

  it('L2: the training summary, the first bar with no rate or ETA, and a Rich line glued onto the bar', () => {
    const { events } = parseKohyaOutput(excerpt('L2'));
    expect(of(events, 'summary')).toEqual([{ kind: 'summary', trainImages: 105, regImages: 0, batchesPerEpoch: 105, epochs: 16, totalSteps: 1600 }]);
    const [bar] = of(events, 'progress');
    expect(bar).toMatchObject({ bar: 'training', step: 0, total: 1600, percent: 0, elapsedS: 0 });
    expect(bar?.remainingS).toBeUndefined();
    expect(bar?.itPerSec).toBeUndefined();
    expect(of(events, 'epoch')).toEqual([{ kind: 'epoch', epoch: 1, total: 16 }]);
    expect(of(events, 'phase')).toEqual([{ kind: 'phase', phase: 'training' }]);
    expect(errors(events)).toEqual([]);
  });

  it('L3: rates in it/s and s/it, losses, epochs, and a foreign GUI line glued onto a bar', () => {
    const { events } = parseKohyaOutput(excerpt('L3'));
    const bars = of(events, 'progress');
    expect(bars.map((b) => [b.step, b.total, b.loss])).toEqual([
      [0, 7650, undefined],
      [48, 7650, 0.0818],
      [51, 7650, 0.0818],
      [102, 7650, 0.0873],
    ]);
    expect(bars[1]).toMatchObject({ itPerSec: 1.05, elapsedS: 45, remainingS: 2 * 3600 + 39 });
    expect(bars[3]).toMatchObject({ secPerIt: 1.03 });
    expect(of(events, 'epoch').map((e) => e.epoch)).toEqual([1, 2]);
    expect(of(events, 'summary')[0]?.totalSteps).toBe(7650);
    expect(errors(events)).toEqual([]);
  });

  it('L4: duplicate redraws collapse, the final checkpoint and "model saved." are seen through the wrapper and Rich columns', () => {
    const { events, parser } = parseKohyaOutput(excerpt('L4'), { outputName: '1' });
    expect(of(events, 'progress').map((b) => b.elapsedS)).toEqual([6822, 6823]);
    expect(of(events, 'progress')[0]).toMatchObject({ step: 2720, total: 2720, percent: 100, secPerIt: 2.51, loss: 0.332, remainingS: 0 });
    expect(of(events, 'checkpoint')).toEqual([{ kind: 'checkpoint', path: '/home/1.safetensors', final: true }]);
    expect(of(events, 'model-saved')).toHaveLength(1);
    expect(parser.finish({ code: 0, outputExists: true }).outcome).toEqual({ ok: true, code: 'succeeded', message: expect.any(String) });
  });

  it('L5: a crash under accelerate reports the failed worker', () => {
    const first = parseKohyaOutput(excerpt('L5', 0));
    expect(of(first.events, 'progress')[0]).toMatchObject({ step: 337, total: 1920, secPerIt: 17.35, elapsedS: 3600 + 37 * 60 + 28, remainingS: 7 * 3600 + 37 * 60 + 50 });
    expect(errors(first.events)).toEqual([]);
    const second = parseKohyaOutput(excerpt('L5', 1));
    expect(errors(second.events)).toEqual([expect.objectContaining({ code: 'worker-failed', fatal: true, message: 'A training worker exited with status 1.' })]);
  });

  it('L6 + L7: a traceback glued onto the first bar, then the OOM message, give one cuda-oom error with a hint', () => {
    const parser = new KohyaOutputParser();
    const events: KohyaEvent[] = [];
    const splitter = new LineSplitter();
    for (const line of [...splitter.push(`${excerpt('L6')}\n${excerpt('L7')}\n`), ...splitter.end()]) events.push(...parser.parse({ text: line.text, stream: 'stderr' }));
    expect(of(events, 'progress')[0]).toMatchObject({ step: 1, total: 1600, loss: 0.087, itPerSec: 1.32 });
    const oom = errors(events);
    expect(oom).toHaveLength(1);
    expect(oom[0]).toMatchObject({ code: 'cuda-oom', fatal: true });
    expect(oom[0]?.message).toMatch(/CUDA out of memory\. Tried to allocate 20\.00 MiB/);
    expect(oom[0]?.hint).toMatch(/batch size/);
    expect(parser.finish({ code: 1 }).outcome).toMatchObject({ ok: false, code: 'cuda-oom' });
  });

  it('L8: the torch.cuda OOM line on its own', () => {
    expect(errors(parseKohyaOutput(excerpt('L8')).events)).toEqual([expect.objectContaining({ code: 'cuda-oom' })]);
  });

  it('L9 + L10: "No data found" in Rich, wrapped and old plain forms is a failure even with exit 0', () => {
    for (const [name, index] of [['L9', 0], ['L9', 1], ['L10', 0]] as const) {
      const { events, parser } = parseKohyaOutput(excerpt(name, index));
      expect(errors(events), `${name}[${index}]`).toEqual([expect.objectContaining({ code: 'no-data', fatal: true })]);
      expect(parser.state.noData).toBe(true);
      const { outcome } = parser.finish({ code: 0 });
      expect(outcome).toMatchObject({ ok: false, code: 'no-data' });
      expect(outcome.hint).toMatch(/extension/);
    }
    // L10's "0it [00:00, ?it/s]" has no total: no progress event.
    expect(of(parseKohyaOutput(excerpt('L10')).events, 'progress')).toEqual([]);
  });

  it('L11: Rich startup lines; the WARNING about ignored options becomes a warning', () => {
    const { events } = parseKohyaOutput(excerpt('L11'));
    expect(of(events, 'warning')).toEqual([{ kind: 'warning', code: 'options-ignored', message: 'ignoring the following options because config file is found: train_data_dir, reg_data_dir, in_json /' }]);
    expect(errors(events)).toEqual([]);
  });

  it('L12 + L13: an invalid dataset config names the voluptuous complaint', () => {
    const { events, parser } = parseKohyaOutput(`${excerpt('L12')}\n${excerpt('L13')}\n`);
    expect(errors(events)).toEqual([expect.objectContaining({ code: 'dataset-config-invalid', fatal: true })]);
    expect(errors(events)[0]?.message).toContain("extra keys not allowed @ data['datasets'][0]['subsets'][0]['caption_separator']");
    expect(parser.finish({ code: 1 }).outcome.code).toBe('dataset-config-invalid');
    // Without the voluptuous line the error still comes out at the end.
    const alone = parseKohyaOutput(excerpt('L12'));
    expect(errors(alone.events)).toEqual([]);
    const finished = alone.parser.finish({ code: 1 });
    expect(finished.events).toEqual([expect.objectContaining({ code: 'dataset-config-invalid' })]);
    expect(finished.outcome.code).toBe('dataset-config-invalid');
  });

  it('L14 + L16: dataset and bucket dumps produce no events', () => {
    expect(parseKohyaOutput(excerpt('L14')).events).toEqual([]);
    expect(parseKohyaOutput(excerpt('L16')).events).toEqual([]);
  });

  it('L15: a Rich WARNING line becomes a generic engine warning', () => {
    const { events } = parseKohyaOutput(excerpt('L15'));
    expect(of(events, 'warning')).toEqual([{ kind: 'warning', code: 'engine-warning', message: 'no regularization images' }]);
  });

  it('L17: --resume at a file instead of a state folder', () => {
    const { events } = parseKohyaOutput(excerpt('L17'));
    expect(errors(events)).toEqual([expect.objectContaining({ code: 'resume-invalid', message: 'Resume did not find a saved state in E:/lora-scripts-v1.8.5/output/SilverWolf-000001-state.' })]);
  });

  it('L18: a missing trainer script', () => {
    expect(errors(parseKohyaOutput(excerpt('L18')).events)).toEqual([expect.objectContaining({ code: 'script-missing', message: 'The trainer script /workspace/all_data/sd-scripts/sdxl_train_network.py does not exist.' })]);
  });

  it('L19: the last bar with a traceback glued on ends in a crash naming the exception', () => {
    const { events, parser } = parseKohyaOutput(excerpt('L19'));
    expect(of(events, 'epoch')).toEqual([{ kind: 'epoch', epoch: 1, total: 1 }]);
    expect(of(events, 'progress')[0]).toMatchObject({ step: 255, total: 255, itPerSec: 1.8, loss: 0.148 });
    expect(errors(events)).toEqual([expect.objectContaining({ code: 'crash', message: 'sd-scripts stopped with ZeroDivisionError: integer division or modulo by zero', fatal: true })]);
    expect(parser.finish({ code: 1 }).outcome.code).toBe('crash');
  });

  it('L20: a bar without a label (resize tool) is "other" progress', () => {
    const bars = of(parseKohyaOutput(excerpt('L20')).events, 'progress');
    expect(bars).toEqual([expect.objectContaining({ bar: 'other', step: 1213, total: 1248, percent: 97, itPerSec: 5.94 })]);
  });

  it('L21: the accelerate defaults warning is not an error', () => {
    expect(errors(parseKohyaOutput(excerpt('L21')).events)).toEqual([]);
  });

  it('L22: the old Colab bar (loss=) with a periodic checkpoint glued on', () => {
    const { events } = parseKohyaOutput(excerpt('L22'));
    expect(of(events, 'progress')[0]).toMatchObject({ step: 140, total: 2800, percent: 5, loss: 0.139, secPerIt: 1.82 });
    expect(of(events, 'checkpoint')).toEqual([{ kind: 'checkpoint', path: '/content/training_dir/output/Test-NT1-000001.ckpt', final: false }]);
  });
});

/** A whole simple-mode run as lorasmith launches it: logger lines on stdout, `\r` frames on stderr. */
const RUN_STDOUT = [
  'Loading dataset config from /ws/runs/j/dataset.toml',
  'prepare images.',
  'found directory /ws/runs/j/work/images/0/char contains 4 image files',
  'No caption file found for 1 images. Training will continue without captions for these images. If class token exists, it will be used. / 1枚の画像にキャプションファイルが見つかりませんでした。',
  '40 train images with repeats.',
  'caching latents.',
  'caching latents...',
  'import network module: networks.lora',
  'running training / 学習開始',
  '  num train images * repeats / 学習画像の数×繰り返し回数: 40',
  '  num validation images * repeats / 学習画像の数×繰り返し回数: 0',
  '  num reg images / 正則化画像の数: 0',
  '  num batches per epoch / 1epochのバッチ数: 20',
  '  num epochs / epoch数: 2',
  '  batch size per device / バッチサイズ: 2',
  '  gradient accumulation steps / 勾配を合計するステップ数 = 1',
  '  total optimization steps / 学習ステップ数: 40',
  '',
  'epoch 1/2',
  '',
  '',
  'saving checkpoint: /ws/runs/j/work/output/my-lora-000001.safetensors',
  'saving state at epoch 1',
  'generating sample images at step / サンプル画像生成 ステップ: 20',
  '',
  'epoch 2/2',
  '',
  'saving last state.',
  '',
  'saving checkpoint: /ws/runs/j/work/output/my-lora.safetensors',
  'model saved.',
].join('\n');

describe('KohyaOutputParser on a whole run', () => {
  it('follows the phases, the epochs, the saves and the samples, and calls a clean end a success', () => {
    const parser = new KohyaOutputParser({ outputName: 'my-lora' });
    const events: KohyaEvent[] = [];
    const feed = (text: string, stream: 'stdout' | 'stderr') => {
      const splitter = new LineSplitter();
      for (const line of [...splitter.push(text), ...splitter.end()]) events.push(...parser.parse({ text: line.text, stream }));
    };
    const [head, rest] = RUN_STDOUT.split('import network module') as [string, string];
    const [middle, after] = `import network module${rest}`.split('epoch 1/2') as [string, string];
    feed(head, 'stdout');
    feed('\r 50%|█████     | 2/4 [00:01<00:01,  1.50it/s]\r100%|██████████| 4/4 [00:02<00:00,  1.60it/s]\n', 'stderr');
    feed(middle, 'stdout');
    feed('epoch 1/2', 'stdout');
    feed('\rsteps:   0%|          | 0/40 [00:00<?, ?it/s]\rsteps:  50%|█████     | 20/40 [00:10<00:10,  2.00it/s, avr_loss=0.1]', 'stderr');
    feed(after, 'stdout');
    feed('\rsteps: 100%|██████████| 40/40 [00:20<00:00,  2.00it/s, avr_loss=0.09]\n', 'stderr');

    expect(of(events, 'phase').map((e) => e.phase)).toEqual(['caching', 'training']);
    expect(of(events, 'warning')).toEqual([expect.objectContaining({ code: 'caption-missing' })]);
    const bars = of(events, 'progress');
    expect(bars.filter((b) => b.bar === 'caching').map((b) => b.step)).toEqual([2, 4]);
    expect(bars.filter((b) => b.bar === 'training').map((b: KohyaProgressEvent) => [b.step, b.loss])).toEqual([
      [0, undefined],
      [20, 0.1],
      [40, 0.09],
    ]);
    expect(of(events, 'summary')).toEqual([{ kind: 'summary', trainImages: 40, regImages: 0, batchesPerEpoch: 20, epochs: 2, totalSteps: 40 }]);
    expect(of(events, 'epoch').map((e) => `${e.epoch}/${e.total}`)).toEqual(['1/2', '2/2']);
    expect(of(events, 'checkpoint')).toEqual([
      { kind: 'checkpoint', path: '/ws/runs/j/work/output/my-lora-000001.safetensors', final: false },
      { kind: 'checkpoint', path: '/ws/runs/j/work/output/my-lora.safetensors', final: true },
    ]);
    expect(of(events, 'state-saving')).toEqual([
      { kind: 'state-saving', at: 'epoch', number: 1 },
      { kind: 'state-saving', at: 'last' },
    ]);
    expect(of(events, 'sample')).toEqual([{ kind: 'sample', step: 20 }]);
    expect(errors(events)).toEqual([]);
    expect(parser.state).toMatchObject({ phase: 'training', modelSaved: true, lastStep: 40, totalSteps: 40, epoch: 2, epochs: 2 });
    expect(parser.finish({ code: 0, outputExists: true }).outcome.ok).toBe(true);
  });
});

describe('KohyaOutputParser outcomes and error signatures', () => {
  const finish = (text: string, exit: Parameters<KohyaOutputParser['finish']>[0]) => parseKohyaOutput(text).parser.finish(exit).outcome;

  it('needs "model saved.", a clean exit and the output file', () => {
    expect(finish('model saved.', { code: 0 })).toMatchObject({ ok: true });
    expect(finish('model saved.', { code: 0, outputExists: false })).toMatchObject({ ok: false, code: 'output-missing' });
    expect(finish('epoch 1/1', { code: 0 })).toMatchObject({ ok: false, code: 'no-model-saved' });
    expect(finish('model saved.', { code: 1 })).toMatchObject({ ok: false, code: 'exit-1' });
    expect(finish('epoch 1/1', { code: null, signal: 'SIGKILL' })).toMatchObject({ ok: false, code: 'killed' });
    expect(finish('epoch 1/1', { code: 137 })).toMatchObject({ ok: false, code: 'killed' });
    expect(finish('epoch 1/1', { code: null, signal: 'SIGINT' })).toMatchObject({ ok: false, code: 'signal' });
    // A NaN loss alone is not fatal: the run may still save a model.
    expect(finish('steps:  50%|█| 1/2 [00:01<00:01,  1.00it/s, avr_loss=nan]\nmodel saved.', { code: 0 })).toMatchObject({ ok: true });
  });

  it('recognises a missing module, with a LyCORIS note', () => {
    const { events } = parseKohyaOutput("Traceback (most recent call last):\n  File \"/e/train_network.py\", line 1, in <module>\nModuleNotFoundError: No module named 'lycoris'\n");
    expect(errors(events)).toEqual([expect.objectContaining({ code: 'missing-module', fatal: true })]);
    expect(errors(events)[0]?.message).toMatch(/"lycoris".*lycoris_lora/);
    expect(errors(events)[0]?.hint).toMatch(/engine install/);
  });

  it('gives assertion hints, using the English half of bilingual messages', () => {
    const { events } = parseKohyaOutput('AssertionError: bucket_reso_steps is 32. it must be divisible by 64.\nbucket_reso_stepsが32です。64で割り切れる必要があります');
    expect(errors(events)).toEqual([expect.objectContaining({ code: 'assertion', message: 'sd-scripts refused the settings: bucket_reso_steps is 32. it must be divisible by 64.', hint: 'Set bucket_reso_steps to a multiple of 64; 64 works for every model family.' })]);
    const cache = parseKohyaOutput('AssertionError: when caching latents, either color_aug or random_crop cannot be used / latentをキャッシュするときはcolor_augとrandom_cropは使えません');
    expect(errors(cache.events)[0]).toMatchObject({ message: 'sd-scripts refused the settings: when caching latents, either color_aug or random_crop cannot be used', hint: expect.stringMatching(/color_aug/) });
  });

  it('recognises argparse refusals, a missing config, a type error in the config and offline cache misses', () => {
    expect(errors(parseKohyaOutput('usage: train_network.py [-h]\ntrain_network.py: error: unrecognized arguments: --bogus').events)[0]).toMatchObject({ code: 'bad-arguments', message: 'sd-scripts refused its arguments: unrecognized arguments: --bogus' });
    expect(errors(parseKohyaOutput('/ws/runs/j/run.toml not found.').events)[0]).toMatchObject({ code: 'config-missing' });
    const typed = parseKohyaOutput("Invalid cmdline parsed arguments. This should be a bug. / コマンドラインのパース結果が正しくないようです。\nvoluptuous.error.MultipleInvalid: expected float for object value @ data['validation_split']");
    expect(errors(typed.events)[0]).toMatchObject({ code: 'config-type-invalid', message: expect.stringContaining("data['validation_split']") });
    const offline = parseKohyaOutput("OSError: We couldn't connect to 'https://huggingface.co' to load this file, couldn't find it in the cached files");
    expect(errors(offline.events)[0]).toMatchObject({ code: 'engine-cache-missing', hint: expect.stringMatching(/engine install/) });
    expect(errors(parseKohyaOutput('RuntimeError: No CUDA GPUs are available').events)[0]).toMatchObject({ code: 'cuda-unavailable' });
    expect(errors(parseKohyaOutput('subprocess.CalledProcessError: Command \'[...]\' died with <Signals.SIGKILL: 9>.').events)[0]).toMatchObject({ code: 'killed' });
  });

  it('reports each error code once, and Python warnings as warnings', () => {
    const { events } = parseKohyaOutput('torch.cuda.OutOfMemoryError: CUDA out of memory.\nOutOfMemoryError: CUDA out of memory.\n/venv/lib/x.py:12: FutureWarning: `foo` is deprecated');
    expect(errors(events)).toHaveLength(1);
    expect(of(events, 'warning')).toEqual([{ kind: 'warning', code: 'python-warning', message: 'FutureWarning: `foo` is deprecated' }]);
  });

  it('redacts secrets in messages (LOG-R02)', () => {
    const { events } = parseKohyaOutput('ValueError: bad token hf_abcdefghijklmnopqrstuvwxyz0123456789');
    expect(errors(events)[0]?.message).not.toContain('hf_abcdefghijklmnopqrstuvwxyz0123456789');
    expect(errors(events)[0]?.message).toContain('[REDACTED]');
  });

  it('strips ANSI colour codes', () => {
    expect(of(parseKohyaOutput('\x1b[32mepoch 3/4\x1b[0m').events, 'epoch')).toEqual([{ kind: 'epoch', epoch: 3, total: 4 }]);
  });
});

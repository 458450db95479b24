import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../engine.ts';
import { FluxflowOutputParser } from './parse-output.ts';

const OUTPUT = 'output/flxflow_final.safetensors';

function parser(steps = [{ name: 'vae', nEpochs: 2 }, { name: 'flow', nEpochs: 1 }]): FluxflowOutputParser {
  return new FluxflowOutputParser({ steps, outputFile: OUTPUT });
}

function feed(p: FluxflowOutputParser, lines: string[]): EngineEvent[] {
  return lines.flatMap((line) => p.parse(line));
}

const progress = (events: EngineEvent[]) => events.filter((event): event is Extract<EngineEvent, { kind: 'progress' }> => event.kind === 'progress');

/** Lines in the grammar of fluxflow.md §1.3 (pipeline mode). */
const RUN = [
  'PIPELINE EXECUTION PLAN',
  '\rScanning image dimensions:  40%|████      | 2/5 [00:00<00:00, 563.49it/s]',
  'PIPELINE STEP 1/2: vae',
  'Dataset: default (local)',
  'Step vae (1/2), Epoch 1/2, 100 batches',
  '[0000:00:10.000] Step vae (1/2) | Epoch 1/2 | Batch 0/100 | VAE: 0.5000 | KL: 1.2000 | ColorStats: 0.0100 | Hist: 0.0200 | Contrast: 0.0300 | 0.50s/batch',
  '[0000:00:15.000] Step vae (1/2) | Epoch 1/2 | Batch 10/100 | VAE: 0.4000 | KL: 1.1000 | ColorStats: 0.0100 | Hist: 0.0200 | Contrast: 0.0300 | 0.40s/batch',
  'Epoch 1 completed in 0000:00:50.000',
  'Step vae (1/2), Epoch 2/2, 100 batches',
  'Epoch 2 completed in 0000:00:50.000',
  'PIPELINE STEP 2/2: flow',
  'Step flow (2/2), Epoch 1/1, 50 batches',
  '[0000:02:00.000] Step flow (2/2) | Epoch 1/1 | Batch 0/50 | Flow: 0.3000 | 0.20s/batch',
];

describe('FluxflowOutputParser: progress and ETA computed from the plan', () => {
  it('counts batches across steps against the planned total and times them from the elapsed column', () => {
    const events = progress(feed(parser(), RUN));
    expect(events[0]).toEqual({ kind: 'progress', step: 1, total: 300, epoch: 1, itPerSec: 2, remainingS: 150, loss: 0.5 });
    // 10 batches in 5 s: 0.5 s/batch measured (the printed 0.40 is one batch's time).
    expect(events[1]).toMatchObject({ step: 11, total: 300, remainingS: 145, loss: 0.4 });
    // Step 2: the VAE step did 2 × 100; the flow step's 50 batches per epoch replace the estimate.
    expect(events[2]).toMatchObject({ step: 201, total: 250, epoch: 3, loss: 0.3 });
    expect(events[2]?.remainingS).toBe(Math.round(49 * (0.5 + 0.3 * (0.2 - 0.5))));
  });

  it('caps batches per epoch at max_steps and shrinks the total when a transition ends a step early', () => {
    const p = parser([
      { name: 'vae', nEpochs: 5, maxSteps: 30 } as { name: string; nEpochs: number; maxSteps?: number },
      { name: 'flow', nEpochs: 1 },
    ]);
    const events = progress(
      feed(p, [
        '[0000:00:01.000] Step vae (1/2) | Epoch 1/5 | Batch 0/100 | VAE: 0.5000 | 0.10s/batch',
        '[0000:00:02.000] Step vae (1/2) | Epoch 2/5 | Batch 0/100 | VAE: 0.2000 | 0.10s/batch',
        'Epoch 2 completed in 0000:00:03.000',
        'Transition criteria met: vae_loss 0.0400 < 0.05 (epoch 2)',
        '[0000:00:04.000] Step flow (2/2) | Epoch 1/1 | Batch 0/40 | Flow: 0.3000 | 0.10s/batch',
      ]),
    );
    expect(events[0]).toMatchObject({ step: 1, total: 5 * 30 + 30 });
    expect(events[1]).toMatchObject({ step: 31 });
    expect(events[2]).toMatchObject({ step: 61, total: 60 + 40 });
  });

  it('picks up mid-pipeline after a resume without counting from zero', () => {
    const events = progress(feed(parser(), ['[0000:00:01.000] Step flow (2/2) | Epoch 1/1 | Batch 20/50 | Flow: 0.3000 | 0.20s/batch']));
    expect(events[0]).toMatchObject({ step: 2 * 50 + 21, total: 150 });
  });
});

describe('FluxflowOutputParser: events', () => {
  it('phases, epochs across the pipeline, a checkpoint at each epoch end and the final one at completion', () => {
    const p = parser();
    const events = feed(p, [...RUN, 'Epoch 1 completed in 0000:00:10.000', 'PIPELINE TRAINING COMPLETE', 'Pipeline training complete!']).filter((event) => event.kind !== 'progress');
    expect(events).toEqual([
      { kind: 'phase', phase: 'scanning' },
      { kind: 'phase', phase: 'training' },
      { kind: 'epoch', epoch: 1, total: 3 },
      { kind: 'checkpoint', path: OUTPUT, final: false },
      { kind: 'epoch', epoch: 2, total: 3 },
      { kind: 'checkpoint', path: OUTPUT, final: false },
      { kind: 'epoch', epoch: 3, total: 3 },
      { kind: 'checkpoint', path: OUTPUT, final: false },
      { kind: 'checkpoint', path: OUTPUT, final: true },
    ]);
    expect(p.finish({ code: 0, signal: null, outputExists: true }).outcome).toEqual({ ok: true, code: 'succeeded', message: 'The pipeline finished and the checkpoint was saved.' });
  });

  it('warns once when metrics fall back to stderr', () => {
    const events = feed(parser(), ['FALLBACK_METRIC: {"global_step": 1}', 'FALLBACK_METRIC: {"global_step": 2}']);
    expect(events).toEqual([{ kind: 'warning', code: 'metrics-write-failed', message: expect.stringContaining('FALLBACK_METRIC') }]);
  });
});

describe('FluxflowOutputParser: the verdict', () => {
  it('exit 0 without the completion banner is a failure, and so is a missing output file', () => {
    const quiet = parser();
    feed(quiet, RUN.slice(0, 3));
    expect(quiet.finish({ code: 0, signal: null, outputExists: false }).outcome).toMatchObject({ ok: false, code: 'not-completed' });
    const done = parser();
    feed(done, ['PIPELINE TRAINING COMPLETE']);
    expect(done.finish({ code: 0, signal: null, outputExists: false }).outcome).toMatchObject({ ok: false, code: 'output-missing' });
  });

  it('argparse refusing the command line is "failed to start", not a running job', () => {
    const p = parser();
    const events = feed(p, ['usage: fluxflow-train [-h] [--config CONFIG] ...', 'fluxflow-train: error: unrecognized arguments: --cfg_dropout_prob 0.1']);
    expect(events).toEqual([expect.objectContaining({ kind: 'error', code: 'failed-to-start', fatal: true })]);
    expect(p.finish({ code: 2, signal: null, outputExists: false }).outcome).toMatchObject({ ok: false, code: 'failed-to-start', message: expect.stringContaining('--cfg_dropout_prob') });
  });

  it('names CUDA OOM with a hint, from inside the traceback', () => {
    const p = parser();
    const events = feed(p, [
      'Traceback (most recent call last):',
      '  File "/venv/lib/python3.11/site-packages/fluxflow_training/training/pipeline_orchestrator.py", line 1352, in _train_step',
      '    losses = trainer.train_step(batch)',
      'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 23.55 GiB of which 1.21 GiB is free.',
    ]);
    expect(events).toEqual([expect.objectContaining({ kind: 'error', code: 'cuda-oom', fatal: true, hint: expect.stringContaining('batchSize') })]);
    expect(p.finish({ code: 1, signal: null, outputExists: true }).outcome).toMatchObject({ ok: false, code: 'cuda-oom' });
  });

  it('reports any other failure with its status and the last exception line', () => {
    const p = parser();
    feed(p, ['Traceback (most recent call last):', '  File "x.py", line 1, in f', '    Epoch 1 completed in 0000:00:01.000', 'ValueError: Unsupported optimizer type: Adagrad']);
    const { events, outcome } = p.finish({ code: 1, signal: null, outputExists: false });
    expect(outcome).toMatchObject({ ok: false, code: 'crash', message: 'FluxFlow exited with status 1: ValueError: Unsupported optimizer type: Adagrad.' });
    expect(events).toEqual([expect.objectContaining({ kind: 'error', code: 'crash', fatal: true })]);
  });

  it('an offline load failure points at the engine cache', () => {
    const p = parser();
    feed(p, ["OSError: We couldn't connect to 'https://huggingface.co' to load the files, and couldn't find them in the cached files."]);
    expect(p.finish({ code: 1, signal: null, outputExists: false }).outcome).toMatchObject({ code: 'engine-cache-missing', hint: expect.stringContaining('engine install fluxflow') });
  });

  it('signals: SIGKILL is "killed", a stop keeps only the last save', () => {
    expect(parser().finish({ code: null, signal: 'SIGKILL', outputExists: true }).outcome).toMatchObject({ ok: false, code: 'killed' });
    expect(parser().finish({ code: null, signal: 'SIGTERM', outputExists: true }).outcome).toMatchObject({ ok: false, code: 'signal', hint: expect.stringContaining('last save') });
  });
});

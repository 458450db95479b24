import { describe, expect, it } from 'vitest';
import { registerSecret } from '../../../core/redact.ts';
import { fluxflowDryRun } from './dry-run.ts';
import { fluxflowLocationAt } from './engine-location.ts';
import { fluxflowConfig, fluxflowInput } from './spec-fixtures.ts';

const ENGINE = fluxflowLocationAt('/ws/engines/fluxflow/venv/bin/python', '/ws/engines/fluxflow/cache', { dir: '/ws/engines/fluxflow/cache/models--distilbert-base-uncased/snapshots/abc1234', weights: true });

describe('fluxflowDryRun', () => {
  it('shows argv, env, cwd, files, sandbox, plan and directives under <run>', () => {
    const view = fluxflowDryRun(fluxflowInput(), { engine: ENGINE, gpus: ['0'] });
    expect(view.engine).toBe('fluxflow');
    expect(view.argv).toEqual(['/ws/engines/fluxflow/venv/bin/python', '-E', '-s', '-u', '/ws/engines/fluxflow/venv/bin/fluxflow-train', '--config', '<run>/pipeline.yaml']);
    expect(view.cwd).toBe('<run>/work');
    expect(Object.keys(view.files)).toEqual(['<run>/pipeline.yaml', '<run>/captions/pics.tsv']);
    expect(view.files['<run>/pipeline.yaml']).toContain('output_path: "<run>/work/output"');
    expect(view.env.HOME).toBe('<run>/work/home');
    expect(view.sandbox.writable).toEqual(['<run>/work']);
    expect(view.plan).toMatchObject({ start: 'fresh', output: { kind: 'checkpoint', family: 'fluxflow', file: '<run>/work/output/flxflow_final.safetensors' }, steps: [{ name: 'vae', modes: ['train_vae'], optimizers: ['vae'] }, { name: 'flow', modes: ['train_diff'] }] });
    expect(view.directives.phases.map((phase) => phase.phase)).toEqual(['startup', 'scanning', 'training']);
    expect(JSON.stringify(view)).not.toContain('__lorasmith_dry_run__');
  });

  it('redacts a registered secret wherever it appears', () => {
    const secret = 'hf_SecretInACaption0123456789abcdef';
    registerSecret(secret);
    const view = fluxflowDryRun(fluxflowInput(fluxflowConfig({ output: { sampleCaptions: [`a photo ${secret}`] } })), { engine: ENGINE });
    expect(JSON.stringify(view)).not.toContain(secret);
  });
});

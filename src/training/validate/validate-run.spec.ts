import { describe, expect, it } from 'vitest';
import { validateRun } from './validate-run.ts';
import { kohyaModels, workspace } from './spec-fixtures.ts';

const sdxl = {
  schema: 'lorasmith/run@1',
  kind: 'kohya',
  family: 'sdxl',
  model: { base: 'sdxl-base' },
  datasets: [{ dataset: 'dogs' }],
  resolution: { width: 1024, height: 1024 },
  saving: { saveState: true },
};

describe('validateRun', () => {
  it('a clean run is ok with no findings, and comes back with defaults filled', async () => {
    const report = await validateRun({ config: sdxl, resolve: workspace('sdxl') });
    expect(report.issues).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.config?.kind === 'kohya' && report.config.network.dim).toBe(16);
  });

  it('shape errors come back as issues with code "schema" and a path, and no config', async () => {
    const report = await validateRun({ config: { ...sdxl, network: { dim: 0 }, extra: true } });
    expect(report.ok).toBe(false);
    expect(report.config).toBeNull();
    expect(report.issues.map((found) => [found.code, found.severity, found.path])).toEqual(
      expect.arrayContaining([
        ['schema', 'error', 'network.dim'],
        ['schema', 'error', ''],
      ]),
    );
  });

  it('rules and library checks are combined; warnings alone keep the run ok', async () => {
    const warned = await validateRun({ config: { ...sdxl, model: { base: 'sdxl-base', clipSkip: 2 } }, resolve: workspace('sdxl') });
    expect(warned.issues.map((found) => found.code)).toEqual(['clip-skip-not-used']);
    expect(warned.ok).toBe(true);
    const failed = await validateRun({ config: { ...sdxl, buckets: { enabled: true, stepSize: 48 } }, resolve: workspace('sdxl', {}, { dogs: null }) });
    expect(failed.issues.map((found) => found.code)).toEqual(['bucket-step-multiple', 'dataset-missing']);
    expect(failed.ok).toBe(false);
  });

  it('without a resolver the library checks are skipped', async () => {
    const report = await validateRun({ config: { ...sdxl, family: 'flux1', model: kohyaModels('flux1') } });
    expect(report.issues).toEqual([]);
  });

  it('FluxFlow runs go through their own rules', async () => {
    const report = await validateRun({
      config: { schema: 'lorasmith/run@1', kind: 'fluxflow', data: { dataset: 'pics' }, pipeline: { steps: [{ name: 'a', nEpochs: 1 }] } },
      resolve: workspace('fluxflow'),
    });
    expect(report.issues.map((found) => found.code)).toEqual(['fluxflow-step-no-mode']);
  });
});

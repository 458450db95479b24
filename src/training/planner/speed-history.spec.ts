import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SPEED_SAMPLES, readPlanHistory, recordItPerSecond, speedHistoryFile } from './speed-history.ts';

let engines: string;
beforeAll(async () => {
  engines = await mkdtemp(path.join(tmpdir(), 'lorasmith-speed-'));
});
afterAll(async () => {
  await rm(engines, { recursive: true, force: true });
});

const sample = { family: 'sdxl' as const, width: 1024, height: 1024, batchSize: 2, itPerSecond: 1.5, gpuName: 'NVIDIA RTX 4090' };

describe('the it/s history', () => {
  it('is empty before the first run, then holds what runs recorded, in a private file', async () => {
    const file = speedHistoryFile(engines);
    expect(file).toBe(path.join(engines, 'it-per-second.json'));
    expect(await readPlanHistory(file)).toEqual({ itPerSecond: [] });
    // Two runs finishing together: neither measurement is lost.
    await Promise.all([recordItPerSecond(file, sample, () => new Date('2025-01-01T00:00:00Z')), recordItPerSecond(file, { ...sample, family: 'flux1', itPerSecond: 0.4 })]);
    expect((await readPlanHistory(file)).itPerSecond).toEqual([sample, { ...sample, family: 'flux1', itPerSecond: 0.4 }]);
    expect(JSON.parse(await readFile(file, 'utf8')).samples[0].recordedAt).toBe('2025-01-01T00:00:00.000Z');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('keeps the newest measurements only', async () => {
    const file = path.join(engines, 'many.json');
    for (let i = 0; i < MAX_SPEED_SAMPLES + 3; i += 1) await recordItPerSecond(file, { ...sample, itPerSecond: i + 1 });
    const kept = (await readPlanHistory(file)).itPerSecond;
    expect(kept).toHaveLength(MAX_SPEED_SAMPLES);
    expect(kept[0]?.itPerSecond).toBe(4);
    expect(kept.at(-1)?.itPerSecond).toBe(MAX_SPEED_SAMPLES + 3);
  });

  it('refuses a measurement that is not one, and reads a damaged file as no history', async () => {
    const file = path.join(engines, 'damaged.json');
    await expect(recordItPerSecond(file, { ...sample, itPerSecond: 0 })).rejects.toThrow(RangeError);
    await writeFile(file, '{"samples": [{"family": "sdxl", "width": 1024');
    expect(await readPlanHistory(file)).toEqual({ itPerSecond: [] });
    await writeFile(file, JSON.stringify({ samples: [sample, { ...sample, family: 'sd9' }, 'junk'] }));
    expect((await readPlanHistory(file)).itPerSecond).toEqual([sample]);
    await recordItPerSecond(file, sample);
    expect((await readPlanHistory(file)).itPerSecond).toHaveLength(2);
  });
});

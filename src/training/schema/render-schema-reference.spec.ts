import { describe, expect, it } from 'vitest';
import { FLUXFLOW_DEAD_FIELDS } from './fluxflow-run.ts';
import { renderSchemaReference } from './render-schema-reference.ts';

describe('renderSchemaReference', () => {
  const page = renderSchemaReference();
  const rows = page.split('\n').filter((line) => line.startsWith('| `'));

  it('has a section per run kind and the disabled FluxFlow settings', () => {
    expect(page).toMatch(/^# Run config reference\n/);
    expect(page).toContain('## `kind: "kohya"`');
    expect(page).toContain('## `kind: "fluxflow"`');
    expect(page).toContain('### FluxFlow settings not offered');
    for (const dead of FLUXFLOW_DEAD_FIELDS) expect(page).toContain(dead.reason);
  });

  it('lists nested, list-item and per-variant fields with their bounds and defaults', () => {
    expect(page).toContain('| `network.dim` | integer | 1–1024 | `16` |');
    expect(page).toContain('| `datasets[].subsets[].repeats` | integer | 1–10000 |');
    expect(page).toMatch(/\| `optimizer\.args\.relativeStep` \| boolean \|  \| `false` \| When `type` is `"AdaFactor"`: /);
    expect(page).toMatch(/\| `duration\.steps` \| integer \| 1–10000000 \| required \| When `unit` is `"steps"`: /);
    expect(page).toContain('| `pipeline.steps[].name` | string |');
    expect(page).toContain('| `captions.maxTokenLength` | choice | `75`, `150`, `225` | `75` |');
  });

  it('gives every row a description and keeps every row at five cells', () => {
    for (const row of rows.filter((line) => !FLUXFLOW_DEAD_FIELDS.some((dead) => line.includes(dead.reason)))) {
      const cells = row.split(/(?<!\\)\|/).slice(1, -1);
      expect(cells, row).toHaveLength(5);
      expect(cells[4]?.trim().length ?? 0, row).toBeGreaterThan(8);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { VERBS } from './verb-list.ts';

describe('the verb list', () => {
  it('names each verb once, and each entry loads the verb of that name with its help', async () => {
    expect(new Set(VERBS.map((entry) => entry.name)).size).toBe(VERBS.length);
    for (const entry of VERBS) {
      const verb = await entry.load();
      expect(verb.name).toBe(entry.name);
      expect(verb.help).toMatch(new RegExp(`^lorasmith ${entry.name}\\b`));
      expect(entry.summary.length).toBeGreaterThan(10);
    }
  });
});

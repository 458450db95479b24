/** kohya's prompt-file lines (`a cat --n blurry --w 512 --h 768 --d 1 --s 30 --l 7.5`) as lorasmith sample prompts. */

export interface ImportedPrompt {
  prompt: string;
  negative?: string;
  width?: number;
  height?: number;
  seed?: number;
  steps?: number;
  cfgScale?: number;
  guidance?: number;
}

const NUMERIC: Readonly<Record<string, keyof ImportedPrompt>> = { w: 'width', h: 'height', d: 'seed', s: 'steps', l: 'cfgScale', g: 'guidance' };

export function parseSamplePrompts(text: string): { prompts: ImportedPrompt[]; skipped: string[] } {
  const prompts: ImportedPrompt[] = [];
  const skipped: string[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [head, ...options] = line.split(/\s--(?=[a-z]+\s)/);
    const prompt: ImportedPrompt = { prompt: (head ?? '').trim() };
    for (const option of options) {
      const match = /^([a-z]+)\s+(.*)$/s.exec(option);
      if (match === null) continue;
      const flag = match[1] ?? '';
      const value = match[2] ?? '';
      const field = NUMERIC[flag];
      if (flag === 'n') {
        prompt.negative = value.trim();
      } else if (field !== undefined && Number.isFinite(Number(value.trim()))) {
        (prompt as unknown as Record<string, number>)[field] = Number(value.trim());
      } else {
        skipped.push(`--${flag} ${value.trim()}`);
      }
    }
    if (prompt.prompt !== '') prompts.push(prompt);
  }
  return { prompts, skipped };
}

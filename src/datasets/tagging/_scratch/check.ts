import { readFileSync } from 'node:fs';
import { resizeLanczos } from '../resize-lanczos.ts';
import { resizeArea } from '../resize-area.ts';
const cases = JSON.parse(readFileSync('/tmp/tg/cases.json', 'utf8')) as Array<[string, number, number]>;
for (const [kind, i, m] of cases) {
  const input = new Uint8Array(readFileSync(`/tmp/tg/${kind}${i}_in.bin`));
  const expected = new Uint8Array(readFileSync(`/tmp/tg/${kind}${i}_out.bin`));
  const t = performance.now();
  const got = kind === 'l'
    ? resizeLanczos({ pixels: input, width: m, height: m, outWidth: 448, outHeight: 448 })
    : resizeArea({ source: { width: m, height: m, readRow: (y, out) => out.set(input.subarray(y * m * 3, (y + 1) * m * 3)) }, size: 448 });
  const ms = performance.now() - t;
  let max = 0, diff = 0, sum = 0;
  for (let k = 0; k < expected.length; k++) { const d = Math.abs((got[k] ?? 0) - (expected[k] ?? 0)); if (d) diff++; max = Math.max(max, d); sum += d; }
  console.log(kind, m, 'max', max, 'differing', diff, 'mean', (sum / expected.length).toFixed(5), ms.toFixed(1) + 'ms');
}

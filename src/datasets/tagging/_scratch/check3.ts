import { writeFakeTagger, logit } from '../testing.ts';
import { tagImages } from '../tagger.ts';
import sharp from 'sharp';
const dir = '/tmp/tg/model';
const tags = [
  { name: 'general', category: 9 as const, bias: 0 },
  { name: 'explicit', category: 9 as const, r: 1 / 8, bias: -200 / 8 },
  { name: 'red_theme', category: 0 as const, r: 1 / 8, bias: -128 / 8 },
  { name: 'solo', category: 0 as const, bias: logit(0.5) },
  { name: 'hatsune_miku', category: 4 as const, bias: logit(0.9) },
];
const p = await writeFakeTagger({ dir, tags });
await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toFile('/tmp/tg/red.png');
const r = await tagImages({ ...p, images: ['/tmp/tg/red.png', '/tmp/tg/nope.png'], options: { rating: 'first' }, onProgress: (x) => console.log(x) });
console.log(JSON.stringify(r, null, 1));

import type { ImageSize } from './types.ts';

export interface RepeatedImage {
  image: ImageSize;
  repeats: number;
}

/**
 * kohya's regularisation balancing (DreamBoothDataset.__init__, train_util.py:2164-2180). Reg images, in
 * the order given (subset order, then sorted path), are taken with their own repeats until the total
 * reaches `trainTotal` (train images × repeats); if one pass is not enough, later passes add one repeat
 * per image until the total equals it. A larger pool is only partly used, and the first pass can
 * overshoot by up to `repeats − 1`. Returns the reg images actually used, with their final repeats.
 */
export function balanceRegularisation(params: { trainTotal: number; reg: readonly RepeatedImage[] }): RepeatedImage[] {
  const used: RepeatedImage[] = [];
  if (params.reg.length === 0) return used;
  let total = 0;
  let firstPass = true;
  while (total < params.trainTotal) {
    for (let i = 0; i < params.reg.length && total < params.trainTotal; i++) {
      if (firstPass) {
        const entry = params.reg[i] as RepeatedImage;
        used.push({ image: entry.image, repeats: entry.repeats });
        total += entry.repeats;
      } else {
        (used[i] as RepeatedImage).repeats += 1;
        total += 1;
      }
    }
    firstPass = false;
  }
  return used;
}

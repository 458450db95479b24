/**
 * sharp, loaded on first use. Importing it loads libvips (≈ 100 ms), and every CLI verb that opens the studio
 * reaches the image code through the composition root although most verbs never touch an image; importing
 * it here, when the first image is read, keeps that cost off them. Modules that decode images take the
 * factory from `await loadSharp()` (once per call, outside any try that would relabel a failed load as a
 * bad image) and use `import type` for sharp's types.
 */
import type sharp from 'sharp';

/** `sharp` itself: the function that opens an image. */
export type SharpFactory = typeof sharp;

let loading: Promise<SharpFactory> | undefined;

export function loadSharp(): Promise<SharpFactory> {
  loading ??= import('sharp').then((module) => module.default);
  return loading;
}

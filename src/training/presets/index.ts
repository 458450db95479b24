/** Training presets: partial kohya runs by family and GPU memory, and how to turn one into a full run. */
export { applyPreset, type ApplyPresetParams } from './apply-preset.ts';
export { findPreset } from './find-preset.ts';
export { RUN_PRESETS, type DeepPartial, type KohyaPresetConfig, type RunPreset, type VramTier } from './run-presets.ts';

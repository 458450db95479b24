import { LorasmithError } from '../../core/errors.ts';
import { RUN_PRESETS, type RunPreset } from './run-presets.ts';

export function findPreset(name: string): RunPreset {
  const preset = RUN_PRESETS.find((candidate) => candidate.name === name);
  if (preset === undefined) {
    throw new LorasmithError({
      code: 'preset-not-found',
      message: `There is no training preset named ${JSON.stringify(name.slice(0, 100))}.`,
      hint: `Use one of: ${RUN_PRESETS.map((candidate) => candidate.name).join(', ')}.`,
      status: 404,
    });
  }
  return preset;
}

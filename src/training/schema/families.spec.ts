import { describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import { kohyaArg, kohyaCatalogueScripts } from '../engines/kohya/kohya-args.ts';
import {
  KOHYA_FAMILIES,
  MODEL_COMPONENTS,
  RUN_FAMILIES,
  bucketStepMultipleFor,
  componentNeed,
  isKohyaFamily,
  networkModuleFor,
  networkTypesFor,
  trainerScriptFor,
} from './families.ts';

describe('trainerScriptFor', () => {
  it('maps each family to the LoRA trainer kohya-args.json names', () => {
    expect(Object.fromEntries(KOHYA_FAMILIES.map((family) => [family, trainerScriptFor(family)]))).toEqual({
      sd1: 'train_network.py',
      sd2: 'train_network.py',
      sdxl: 'sdxl_train_network.py',
      sd3: 'sd3_train_network.py',
      flux1: 'flux_train_network.py',
      chroma: 'flux_train_network.py',
      lumina2: 'lumina_train_network.py',
    });
    for (const family of KOHYA_FAMILIES) expect(kohyaCatalogueScripts()).toContain(trainerScriptFor(family));
  });

  it('refuses families without a covered script', () => {
    for (const family of ['hunyuan-image-2.1', 'anima', 'fluxflow', 'unknown'] as const) {
      expect(isKohyaFamily(family)).toBe(false);
      try {
        trainerScriptFor(family);
        throw new Error('expected a refusal');
      } catch (error) {
        expect(isLorasmithError(error) && error.code).toBe('family-not-trainable');
      }
    }
    expect(RUN_FAMILIES.filter((family) => !isKohyaFamily(family))).toEqual(['hunyuan-image-2.1', 'anima']);
  });
});

describe('family facts', () => {
  it('network modules per family and type (kohya-sd-scripts.md §1.1, §3.2)', () => {
    expect(networkModuleFor('sd1', 'lora')).toBe('networks.lora');
    expect(networkModuleFor('sdxl', 'locon')).toBe('networks.lora');
    expect(networkModuleFor('sdxl', 'lokr')).toBe('lycoris.kohya');
    expect(networkModuleFor('sd3', 'lora')).toBe('networks.lora_sd3');
    expect(networkModuleFor('flux1', 'lora')).toBe('networks.lora_flux');
    expect(networkModuleFor('chroma', 'lora')).toBe('networks.lora_flux');
    expect(networkModuleFor('lumina2', 'lora')).toBe('networks.lora_lumina');
  });

  it('offers LyCORIS types and LoCon only for SD 1.x/2.x and SDXL, nothing for unsupported families', () => {
    for (const family of ['sd1', 'sd2', 'sdxl'] as const) expect(networkTypesFor(family)).toEqual(['lora', 'locon', 'loha', 'lokr', 'dora']);
    for (const family of ['sd3', 'flux1', 'chroma', 'lumina2'] as const) expect(networkTypesFor(family)).toEqual(['lora']);
    expect(networkTypesFor('anima')).toEqual([]);
  });

  it('bucket steps: 64 for SD 1.x/2.x, FLUX.1 and Lumina, 32 for SDXL and SD3', () => {
    expect(KOHYA_FAMILIES.map((family) => [family, bucketStepMultipleFor(family)])).toEqual([
      ['sd1', 64],
      ['sd2', 64],
      ['sdxl', 32],
      ['sd3', 32],
      ['flux1', 64],
      ['chroma', 64],
      ['lumina2', 64],
    ]);
  });

  it('a component is listed for a family exactly when its script has the option', () => {
    const option = { vae: ['vae', 'ae'], clipL: ['clip_l'], clipG: ['clip_g'], t5xxl: ['t5xxl'], gemma2: ['gemma2'] } as const;
    for (const family of KOHYA_FAMILIES) {
      for (const component of MODEL_COMPONENTS) {
        const names = component === 'vae' ? (['flux1', 'chroma', 'lumina2'].includes(family) ? ['ae'] : ['vae']) : option[component];
        const accepted = names.every((name) => kohyaArg(trainerScriptFor(family), name) !== undefined);
        expect({ family, component, accepted }).toEqual({ family, component, accepted: componentNeed(family, component) !== undefined });
      }
    }
  });
});

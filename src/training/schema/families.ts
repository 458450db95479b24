/**
 * What each model family means for a kohya run: its trainer script, network module, the network types lorasmith
 * offers, the extra model files it needs and its bucket step. One table, so the schema, the presets, the
 * validator and the engine adapter never disagree (facts: kohya-sd-scripts.md §1.1, §3.1, §3.2).
 */
import { LorasmithError } from '../../core/errors.ts';
import type { ModelFamily } from '../../formats/fingerprint/types.ts';

/**
 * Families a kohya run may name. HunyuanImage-2.1 and Anima have sd-scripts trainers, but their scripts are not
 * in kohya-args.json, so no key we would write can be checked (DESIGN.md §4): the schema accepts them so an
 * imported config gets a precise "not supported" instead of a bare enum error, and validation refuses them.
 */
export const RUN_FAMILIES = ['sd1', 'sd2', 'sdxl', 'sd3', 'flux1', 'chroma', 'lumina2', 'hunyuan-image-2.1', 'anima'] as const;
export type RunFamily = (typeof RUN_FAMILIES)[number];

/** The families whose LoRA trainer kohya-args.json covers. */
export const KOHYA_FAMILIES = ['sd1', 'sd2', 'sdxl', 'sd3', 'flux1', 'chroma', 'lumina2'] as const;
export type KohyaFamily = (typeof KOHYA_FAMILIES)[number];

/** sd-scripts' LoRA trainers, named as in kohya-args.json. */
export type KohyaNetworkScript =
  | 'train_network.py'
  | 'sdxl_train_network.py'
  | 'sd3_train_network.py'
  | 'flux_train_network.py'
  | 'lumina_train_network.py';

/**
 * `lora` everywhere; `locon` is sd-scripts' own LoRA-C3Lier (`networks.lora` + `conv_dim`), so it needs no extra
 * package; `loha`, `lokr` and `dora` come from the pinned `lycoris_lora` (`lycoris.kohya`).
 */
export const NETWORK_TYPES = ['lora', 'locon', 'loha', 'lokr', 'dora'] as const;
export type NetworkType = (typeof NETWORK_TYPES)[number];

/** Network modules a config may name (kohya-sd-scripts.md §3.2); other modules sd-scripts ships are not offered. */
export const NETWORK_MODULES = ['networks.lora', 'networks.lora_sd3', 'networks.lora_flux', 'networks.lora_lumina', 'lycoris.kohya'] as const;
export type NetworkModule = (typeof NETWORK_MODULES)[number];

/** Extra model files beside the base checkpoint (kohya `--vae`/`--ae`, `--clip_l`, `--clip_g`, `--t5xxl`, `--gemma2`). */
export const MODEL_COMPONENTS = ['vae', 'clipL', 'clipG', 't5xxl', 'gemma2'] as const;
export type ModelComponent = (typeof MODEL_COMPONENTS)[number];

/**
 * - required: the run cannot start without it.
 * - optional: used when given (a replacement VAE; SD3's encoders, which may also sit inside the checkpoint).
 * - ignored: the script accepts the option but the family does not use it (CLIP-L for Chroma).
 * Components a family does not list are options its script does not have.
 */
export type ComponentNeed = 'required' | 'optional' | 'ignored';

interface FamilyFacts {
  script: KohyaNetworkScript;
  label: string;
  networkModule: Exclude<NetworkModule, 'lycoris.kohya'>;
  networkTypes: readonly NetworkType[];
  /** The model has 3×3 convolutions a LoCon's `conv_dim` can train (§3.2 table, "conv layers"). */
  hasConvLayers: boolean;
  components: Partial<Record<ModelComponent, ComponentNeed>>;
  /** `bucket_reso_steps` must be a multiple of this when buckets are on (§1.1 "Bucket-step check"). */
  bucketStepMultiple: number;
}

/**
 * LyCORIS types only for SD 1.x/2.x and SDXL: the reference says FLUX.1, SD3 and Lumina need a passing engine test
 * with the pinned `lycoris_lora` before they are offered (§3.2 "What known to work rests on").
 */
const SD_NETWORK_TYPES: readonly NetworkType[] = NETWORK_TYPES;
const DIT_NETWORK_TYPES: readonly NetworkType[] = ['lora'];

const FAMILY_FACTS: Readonly<Record<KohyaFamily, FamilyFacts>> = {
  sd1: {
    script: 'train_network.py',
    label: 'Stable Diffusion 1.x',
    networkModule: 'networks.lora',
    networkTypes: SD_NETWORK_TYPES,
    hasConvLayers: true,
    components: { vae: 'optional' },
    bucketStepMultiple: 64,
  },
  sd2: {
    script: 'train_network.py',
    label: 'Stable Diffusion 2.x',
    networkModule: 'networks.lora',
    networkTypes: SD_NETWORK_TYPES,
    hasConvLayers: true,
    components: { vae: 'optional' },
    bucketStepMultiple: 64,
  },
  sdxl: {
    script: 'sdxl_train_network.py',
    label: 'SDXL (also Pony, Illustrious and other SDXL fine-tunes)',
    networkModule: 'networks.lora',
    networkTypes: SD_NETWORK_TYPES,
    hasConvLayers: true,
    components: { vae: 'optional' },
    bucketStepMultiple: 32,
  },
  sd3: {
    script: 'sd3_train_network.py',
    label: 'Stable Diffusion 3 / 3.5',
    networkModule: 'networks.lora_sd3',
    networkTypes: DIT_NETWORK_TYPES,
    hasConvLayers: false,
    components: { vae: 'optional', clipL: 'optional', clipG: 'optional', t5xxl: 'optional' },
    bucketStepMultiple: 32,
  },
  flux1: {
    script: 'flux_train_network.py',
    label: 'FLUX.1',
    networkModule: 'networks.lora_flux',
    networkTypes: DIT_NETWORK_TYPES,
    hasConvLayers: false,
    components: { vae: 'required', clipL: 'required', t5xxl: 'required' },
    bucketStepMultiple: 64,
  },
  chroma: {
    script: 'flux_train_network.py',
    label: 'Chroma (FLUX.1 trainer, --model_type chroma)',
    networkModule: 'networks.lora_flux',
    networkTypes: DIT_NETWORK_TYPES,
    hasConvLayers: false,
    components: { vae: 'required', clipL: 'ignored', t5xxl: 'required' },
    bucketStepMultiple: 64,
  },
  lumina2: {
    script: 'lumina_train_network.py',
    label: 'Lumina Image 2.0',
    networkModule: 'networks.lora_lumina',
    networkTypes: DIT_NETWORK_TYPES,
    hasConvLayers: false,
    components: { vae: 'required', gemma2: 'required' },
    bucketStepMultiple: 64,
  },
};

export function isKohyaFamily(family: ModelFamily | RunFamily): family is KohyaFamily {
  return (KOHYA_FAMILIES as readonly string[]).includes(family);
}

function factsOf(family: ModelFamily | RunFamily): FamilyFacts {
  if (!isKohyaFamily(family)) {
    throw new LorasmithError({
      code: 'family-not-trainable',
      message: `lorasmith cannot train a LoRA for the ${family} family with kohya sd-scripts.`,
      hint: `Pick one of ${KOHYA_FAMILIES.join(', ')}; their trainer scripts are the ones kohya-args.json covers.`,
    });
  }
  return FAMILY_FACTS[family];
}

/** The sd-scripts LoRA trainer for a family, e.g. `flux_train_network.py`. Throws for a family without one. */
export function trainerScriptFor(family: ModelFamily | RunFamily): KohyaNetworkScript {
  return factsOf(family).script;
}

export function familyLabel(family: KohyaFamily): string {
  return FAMILY_FACTS[family].label;
}

/** Network types lorasmith offers for a family; empty for a family kohya runs cannot train. */
export function networkTypesFor(family: RunFamily): readonly NetworkType[] {
  return isKohyaFamily(family) ? FAMILY_FACTS[family].networkTypes : [];
}

/** The `--network_module` a run of this family and type must use: LyCORIS types always go through `lycoris.kohya`. */
export function networkModuleFor(family: KohyaFamily, type: NetworkType): NetworkModule {
  return type === 'loha' || type === 'lokr' || type === 'dora' ? 'lycoris.kohya' : FAMILY_FACTS[family].networkModule;
}

export function hasConvLayers(family: KohyaFamily): boolean {
  return FAMILY_FACTS[family].hasConvLayers;
}

/** How the family uses each extra model file; `undefined` when its script has no such option. */
export function componentNeed(family: KohyaFamily, component: ModelComponent): ComponentNeed | undefined {
  return FAMILY_FACTS[family].components[component];
}

export function bucketStepMultipleFor(family: KohyaFamily): number {
  return FAMILY_FACTS[family].bucketStepMultiple;
}

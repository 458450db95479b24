import type { FamilyVariant, ModelFamily, PredictionType } from './types.ts';

export interface MetadataFamily {
  family: ModelFamily;
  variant: FamilyVariant | null;
  evidence: string[];
}

interface FamilyEntry {
  family: ModelFamily;
  variant: FamilyVariant | null;
}

/** `ss_base_model_version` values sd-scripts writes (kohya-sd-scripts.md §1.1). */
const BY_BASE_MODEL_VERSION: ReadonlyMap<string, FamilyEntry> = new Map([
  ['sd_v1', { family: 'sd1', variant: null }],
  ['sd_v1_v', { family: 'sd1', variant: null }],
  ['sd_v2', { family: 'sd2', variant: null }],
  ['sd_v2_v', { family: 'sd2', variant: null }],
  ['sdxl_base_v1-0', { family: 'sdxl', variant: null }],
  ['medium', { family: 'sd3', variant: 'sd3-medium' }],
  ['5-large', { family: 'sd3', variant: 'sd3.5-large' }],
  ['5-medium', { family: 'sd3', variant: 'sd3.5-medium' }],
  ['flux1', { family: 'flux1', variant: null }],
  ['chroma', { family: 'chroma', variant: null }],
  ['lumina2', { family: 'lumina2', variant: null }],
  ['hunyuan-image-2.1', { family: 'hunyuan-image-2.1', variant: null }],
  ['anima', { family: 'anima', variant: null }],
] satisfies Array<[string, FamilyEntry]>);

/** `modelspec.architecture` values (§6), without the `/lora` or `/textual-inversion` suffix. */
const BY_ARCHITECTURE: ReadonlyMap<string, FamilyEntry> = new Map([
  ['stable-diffusion-v1', { family: 'sd1', variant: null }],
  ['stable-diffusion-v2-512', { family: 'sd2', variant: null }],
  ['stable-diffusion-v2-768-v', { family: 'sd2', variant: null }],
  ['stable-diffusion-xl-v1-base', { family: 'sdxl', variant: null }],
  ['stable-diffusion-3-medium', { family: 'sd3', variant: 'sd3-medium' }],
  ['stable-diffusion-3-5-large', { family: 'sd3', variant: 'sd3.5-large' }],
  ['stable-diffusion-3-5-medium', { family: 'sd3', variant: 'sd3.5-medium' }],
  ['flux-1-dev', { family: 'flux1', variant: 'flux1-dev' }],
  ['flux-1-schnell', { family: 'flux1', variant: 'flux1-schnell' }],
  ['chroma', { family: 'chroma', variant: null }],
  ['lumina-2', { family: 'lumina2', variant: null }],
  ['hunyuan-image-2.1', { family: 'hunyuan-image-2.1', variant: null }],
  ['anima-preview', { family: 'anima', variant: null }],
] satisfies Array<[string, FamilyEntry]>);

/** The architecture without its `/lora` or `/textual-inversion` suffix. */
export function architectureBase(architecture: string): string {
  const slash = architecture.indexOf('/');
  return slash === -1 ? architecture : architecture.slice(0, slash);
}

/**
 * The family the metadata declares; §7.3 says to prefer it over the key rules when present.
 * `ss_base_model_version` wins over `modelspec.architecture`; a disagreement is reported, never guessed away.
 */
export function familyFromMetadata(metadata: Readonly<Record<string, string>>): MetadataFamily {
  const evidence: string[] = [];
  const version = metadata['ss_base_model_version'];
  const architecture = metadata['modelspec.architecture'];
  const fromVersion = version === undefined ? undefined : BY_BASE_MODEL_VERSION.get(version);
  const fromArchitecture = architecture === undefined ? undefined : BY_ARCHITECTURE.get(architectureBase(architecture));

  if (version !== undefined) {
    evidence.push(
      fromVersion === undefined
        ? `metadata ss_base_model_version="${version}" is not a value sd-scripts writes; ignored`
        : `metadata ss_base_model_version="${version}" → ${fromVersion.family}`,
    );
  }
  if (architecture !== undefined) {
    evidence.push(
      fromArchitecture === undefined
        ? `metadata modelspec.architecture="${architecture}" is not a known architecture; ignored`
        : `metadata modelspec.architecture="${architecture}" → ${fromArchitecture.family}`,
    );
  }
  if (fromVersion !== undefined && fromArchitecture !== undefined && fromVersion.family !== fromArchitecture.family) {
    evidence.push(
      `conflict: ss_base_model_version says ${fromVersion.family}, ` +
        `modelspec.architecture says ${fromArchitecture.family}; using ss_base_model_version`,
    );
  }
  const chosen = fromVersion ?? fromArchitecture;
  if (chosen === undefined) return { family: 'unknown', variant: null, evidence };
  // The architecture alone names FLUX dev/schnell; keep its variant when both agree on the family.
  const variant =
    chosen.variant ?? (fromArchitecture?.family === chosen.family ? fromArchitecture.variant : null);
  return { family: chosen.family, variant, evidence };
}

/**
 * The prediction type, only from what the file declares (`ss_base_model_version` `*_v` suffix,
 * `modelspec.prediction_type`). A disagreement between the two yields `unknown` for the user to confirm.
 */
export function predictionTypeFromMetadata(metadata: Readonly<Record<string, string>>): {
  predictionType: PredictionType;
  evidence: string[];
} {
  const evidence: string[] = [];
  const version = metadata['ss_base_model_version'];
  const declared = metadata['modelspec.prediction_type'];
  const fromVersion: PredictionType | undefined =
    version === 'sd_v1_v' || version === 'sd_v2_v' ? 'v' : version === 'sd_v1' || version === 'sd_v2' ? 'epsilon' : undefined;
  const fromSpec: PredictionType | undefined = declared === 'v' || declared === 'epsilon' ? declared : undefined;

  if (fromVersion !== undefined) evidence.push(`prediction ${fromVersion} from ss_base_model_version="${version}"`);
  if (fromSpec !== undefined) evidence.push(`prediction ${fromSpec} from modelspec.prediction_type`);
  if (fromVersion !== undefined && fromSpec !== undefined && fromVersion !== fromSpec) {
    evidence.push('conflict: the two prediction declarations disagree; prediction type left unknown');
    return { predictionType: 'unknown', evidence };
  }
  return { predictionType: fromVersion ?? fromSpec ?? 'unknown', evidence };
}

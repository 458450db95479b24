import type { LoraModule } from './lora-modules.ts';
import type { AlphaSource, LoraAlgorithm, LoraDetails, LoraNaming, LoraTargets } from './types.ts';

export interface DescribeLoraParams {
  modules: ReadonlyMap<string, LoraModule>;
  metadata: Readonly<Record<string, string>>;
  scalars: Readonly<Record<string, number>>;
}

/** `ss_network_args` is a JSON object of strings (kohya-sd-scripts.md §6); anything else reads as empty. */
function networkArgs(metadata: Readonly<Record<string, string>>): Record<string, unknown> {
  const raw = metadata['ss_network_args'];
  if (raw === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const isTrue = (value: unknown): boolean => value === true || (typeof value === 'string' && value.toLowerCase() === 'true');

function targetOf(name: string): { unet: true } | { textEncoder: string } | undefined {
  if (name.startsWith('lora_unet_')) return { unet: true };
  const kohyaTe = /^(lora_te\d?)_/.exec(name);
  if (kohyaTe?.[1] !== undefined) return { textEncoder: kohyaTe[1] };
  const head = name.slice(0, name.indexOf('.'));
  if (head === 'unet' || head === 'transformer' || head === 'diffusion_model') return { unet: true };
  if (/^text_encoder(?:_\d)?$/.test(head)) return { textEncoder: head };
  return undefined;
}

/**
 * With `split_qkv`, FLUX and SD3 save each qkv module (FLUX `linear1` too) as one block-sparse pair whose
 * down factor has 3r (4r) rows while `alpha` keeps the per-split value (kohya-sd-scripts.md §7.1).
 */
function splitQkvFactor(name: string): number {
  if (name.endsWith('_qkv')) return 3;
  if (name.endsWith('_linear1')) return 4;
  return 1;
}

/** The one value all share; null when they differ, undefined when there are none. */
function uniform(values: Iterable<number>): number | null | undefined {
  let seen: number | undefined;
  for (const value of values) {
    if (seen === undefined) seen = value;
    else if (seen !== value) return null;
  }
  return seen;
}

function overallNaming(modules: ReadonlyMap<string, LoraModule>): LoraNaming {
  const namings = new Set<LoraModule['naming']>();
  for (const module of modules.values()) namings.add(module.naming);
  if (namings.size === 0) return 'unknown';
  if (namings.size > 1) return 'mixed';
  return namings.values().next().value ?? 'unknown';
}

function overallAlgorithm(modules: ReadonlyMap<string, LoraModule>, networkModule: string | null): LoraAlgorithm {
  const algorithms = new Set<string>();
  for (const module of modules.values()) for (const algorithm of module.algorithms) algorithms.add(algorithm);
  if (algorithms.size === 0) return 'unknown';
  if (algorithms.size > 1) return 'mixed';
  const only = algorithms.values().next().value;
  // LyCORIS' low-rank algorithm stores the same lora_down/lora_up as sd-scripts; only the module tells them apart.
  if (only === 'lora') return networkModule === 'lycoris.kohya' ? 'locon' : 'lora';
  return only === 'loha' || only === 'lokr' || only === 'full' ? only : 'unknown';
}

/** Form, rank, alpha and targets of a LoRA-family file, from its modules and `ss_*` metadata. */
export function describeLora(params: DescribeLoraParams): { lora: LoraDetails; evidence: string[] } {
  const { modules, metadata, scalars } = params;
  const evidence: string[] = [];
  const args = networkArgs(metadata);
  const networkModule = metadata['ss_network_module'] ?? null;
  const splitQkv = isTrue(args['split_qkv']);
  if (splitQkv) evidence.push('ss_network_args split_qkv: qkv ranks divided by 3, linear1 by 4');

  const targets: LoraTargets = { unet: 0, textEncoders: {}, conv: 0 };
  const linearRanks = new Map<string, number>();
  const convRanks = new Map<string, number>();
  const alphas = new Map<string, number>();
  let alphaTensors = 0;
  let dora = isTrue(args['dora_wd']);

  for (const module of modules.values()) {
    const target = targetOf(module.name);
    if (target !== undefined && 'unet' in target) targets.unet += 1;
    else if (target !== undefined) {
      targets.textEncoders[target.textEncoder] = (targets.textEncoders[target.textEncoder] ?? 0) + 1;
    }
    if (module.conv) targets.conv += 1;
    if (module.dora) dora = true;
    if (module.rank !== null) {
      const rank = splitQkv ? module.rank / splitQkvFactor(module.name) : module.rank;
      (module.conv ? convRanks : linearRanks).set(module.name, rank);
    }
    if (module.alphaTensor !== null) {
      alphaTensors += 1;
      const value = scalars[module.alphaTensor];
      if (value !== undefined) alphas.set(module.name, value);
    }
  }

  const rank = uniform(linearRanks.values()) ?? null;
  const convRank = uniform(convRanks.values()) ?? null;
  const ranksVary = uniform([...linearRanks.values(), ...convRanks.values()]) === null;
  const rankByModule = ranksVary ? Object.fromEntries([...linearRanks, ...convRanks]) : null;

  let alpha: number | null = null;
  let alphaSource: AlphaSource = 'unknown';
  let alphaByModule: Record<string, number> | null = null;
  if (alphaTensors > 0 && alphas.size === alphaTensors) {
    alphaSource = 'tensors';
    alpha = uniform(alphas.values()) ?? null;
    if (alpha === null) alphaByModule = Object.fromEntries(alphas);
  } else if (alphaTensors === 0 && modules.size > 0) {
    // kohya: a module without alpha has scale 1, i.e. alpha = rank (§7.1); PEFT keeps lora_alpha outside the file.
    alphaSource = 'implied-rank';
    alpha = rank;
    evidence.push('no .alpha tensors: alpha = rank implied');
  } else {
    const declared = Number(metadata['ss_network_alpha']);
    if (metadata['ss_network_alpha'] !== undefined && Number.isFinite(declared)) {
      alphaSource = 'metadata';
      alpha = declared;
      evidence.push('alpha from ss_network_alpha (the .alpha tensor values were not read)');
    }
  }

  const naming = overallNaming(modules);
  const algorithm = overallAlgorithm(modules, networkModule);
  evidence.push(
    `${modules.size} LoRA module${modules.size === 1 ? '' : 's'}, naming ${naming}, ` +
      `algorithm ${algorithm}${dora ? ' + DoRA' : ''}`,
  );
  const declaredAlgo = args['algo'];
  if (typeof declaredAlgo === 'string') evidence.push(`ss_network_args algo="${declaredAlgo}"`);

  return {
    lora: {
      naming,
      algorithm,
      dora,
      networkModule,
      moduleCount: modules.size,
      rank,
      convRank,
      rankByModule,
      alpha,
      alphaSource,
      alphaByModule,
      targets,
    },
    evidence,
  };
}

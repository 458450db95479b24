import type { TensorDescription } from './types.ts';

/** One adapted module: every tensor that shares the name before its LoRA suffix. */
export interface LoraModule {
  name: string;
  naming: 'kohya' | 'peft' | 'diffusers-legacy' | 'unknown';
  algorithms: Set<ModuleAlgorithm>;
  /** From the down factor (`lora_down`, `lora_A`, `hada_w*_b`, `lokr_w*_b`): its first axis. */
  rank: number | null;
  /** The down factor's second axis: the adapted layer's input width (768/1024/2048 decide SD families). */
  inDim: number | null;
  /** A tensor of the module is a k×k convolution with k > 1. */
  conv: boolean;
  /** Name of the module's `.alpha` tensor, when it has one. */
  alphaTensor: string | null;
  dora: boolean;
  /** Has a factor tensor, not just `alpha`/`dora_scale`, which a full model could also name. */
  structural: boolean;
}

export type ModuleAlgorithm = 'lora' | 'loha' | 'lokr' | 'full';

interface SuffixRule {
  role: 'factor' | 'alpha' | 'dora';
  algorithm: ModuleAlgorithm | null;
  naming: LoraModule['naming'] | null;
  /** shape[0] is the rank and shape[1] the input width. */
  downFactor: boolean;
}

const factor = (algorithm: ModuleAlgorithm, downFactor = false, naming: SuffixRule['naming'] = null): SuffixRule => ({
  role: 'factor',
  algorithm,
  naming,
  downFactor,
});

/** Suffixes from kohya-sd-scripts.md §7.1 and §7.2 (kohya, PEFT/diffusers, LyCORIS `weight_list_det`). */
const SUFFIXES: ReadonlyMap<string, SuffixRule> = new Map([
  ['lora_down.weight', factor('lora', true)],
  ['lora_up.weight', factor('lora')],
  ['lora_mid.weight', factor('lora')],
  ['lora_A.weight', factor('lora', true, 'peft')],
  ['lora_B.weight', factor('lora', false, 'peft')],
  ['lora.down.weight', factor('lora', true, 'diffusers-legacy')],
  ['lora.up.weight', factor('lora', false, 'diffusers-legacy')],
  ['hada_w1_a', factor('loha')],
  ['hada_w1_b', factor('loha', true)],
  ['hada_w2_a', factor('loha')],
  ['hada_w2_b', factor('loha', true)],
  ['hada_t1', factor('loha')],
  ['hada_t2', factor('loha')],
  ['lokr_w1', factor('lokr')],
  ['lokr_w1_a', factor('lokr')],
  ['lokr_w1_b', factor('lokr', true)],
  ['lokr_w2', factor('lokr')],
  ['lokr_w2_a', factor('lokr')],
  ['lokr_w2_b', factor('lokr', true)],
  ['lokr_t1', factor('lokr')],
  ['lokr_t2', factor('lokr')],
  ['diff', factor('full')],
  ['diff_b', factor('full')],
  ['alpha', { role: 'alpha', algorithm: null, naming: null, downFactor: false }],
  ['dora_scale', { role: 'dora', algorithm: null, naming: null, downFactor: false }],
] satisfies Array<[string, SuffixRule]>);

const KOHYA_PREFIX = /^lora_(?:unet|te\d?)_/;

/** Splits `<module>.<suffix>` trying the 1-, 2- and 3-segment suffixes: constant work per name. */
function splitSuffix(name: string): { module: string; rule: SuffixRule } | undefined {
  let cut = name.length;
  for (let segments = 0; segments < 3; segments += 1) {
    cut = name.lastIndexOf('.', cut - 1);
    if (cut <= 0) return undefined;
    const rule = SUFFIXES.get(name.slice(cut + 1));
    if (rule !== undefined) return { module: name.slice(0, cut), rule };
  }
  return undefined;
}

function isConvKernel(shape: readonly number[]): boolean {
  return shape.length === 4 && (shape[2] ?? 1) * (shape[3] ?? 1) > 1;
}

/**
 * Groups LoRA-family tensors by module in one pass. Modules without a factor tensor are dropped, and the
 * generic LyCORIS `diff`/`diff_b` count only under kohya's `lora_unet_`/`lora_te*_` prefix, so a full
 * model's tensors are never mistaken for an adapter's.
 */
export function collectLoraModules(tensors: readonly TensorDescription[]): Map<string, LoraModule> {
  const modules = new Map<string, LoraModule>();
  for (const tensor of tensors) {
    const split = splitSuffix(tensor.name);
    if (split === undefined) continue;
    const { module: name, rule } = split;
    let module = modules.get(name);
    if (module === undefined) {
      module = {
        name,
        naming: KOHYA_PREFIX.test(name) ? 'kohya' : 'unknown',
        algorithms: new Set(),
        rank: null,
        inDim: null,
        conv: false,
        alphaTensor: null,
        dora: false,
        structural: false,
      };
      modules.set(name, module);
    }
    if (rule.naming !== null) module.naming = rule.naming;
    if (rule.algorithm !== null) module.algorithms.add(rule.algorithm);
    if (rule.role === 'factor' && (rule.algorithm !== 'full' || module.naming === 'kohya')) module.structural = true;
    if (rule.role === 'alpha') module.alphaTensor = tensor.name;
    if (rule.role === 'dora') module.dora = true;
    if (rule.downFactor && module.rank === null) {
      module.rank = tensor.shape[0] ?? null;
      module.inDim = tensor.shape[1] ?? null;
    }
    if (isConvKernel(tensor.shape)) module.conv = true;
  }
  for (const [name, module] of modules) {
    if (!module.structural) modules.delete(name);
  }
  return modules;
}

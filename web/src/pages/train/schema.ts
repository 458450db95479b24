/**
 * Reading the run config's JSON Schema for the generated form: which variant of a union a value is, what a
 * new value starts as (the schema's defaults, filled in so the form shows what will run), and immutable
 * get/set by path. Nothing here knows the run config's fields; the form learns them from the schema.
 */
import type { Json, JsonObject, JsonSchemaNode, Path } from './types.ts';

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `datasets[0].subsets[2].repeats`: the same form the validator reports issue paths in. */
export function formatPath(path: Path): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text === '' ? key : `.${key}`;
  }
  return text;
}

/** The parent paths of a dotted path, nearest first: `a.b[0].c` → `a.b[0]`, `a.b`, `a`. */
export function parentPaths(dotted: string): string[] {
  const parents: string[] = [];
  let rest = dotted;
  while (rest !== '') {
    const cut = Math.max(rest.lastIndexOf('.'), rest.lastIndexOf('['));
    rest = cut <= 0 ? '' : rest.slice(0, cut);
    if (rest !== '') parents.push(rest);
  }
  return parents;
}

export function getAt(root: Json, path: Path): Json {
  let node: Json = root;
  for (const key of path) {
    if (typeof key === 'number') node = Array.isArray(node) ? node[key] : undefined;
    else node = isPlainObject(node) ? node[key] : undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

/** A copy of `root` with `value` at `path` (objects and arrays on the way are created); undefined removes a key. */
export function setAt(root: Json, path: Path, value: Json): Json {
  if (path.length === 0) return value;
  const [key, ...rest] = path as [string | number, ...Array<string | number>];
  if (typeof key === 'number') {
    const list = Array.isArray(root) ? [...root] : [];
    list[key] = setAt(list[key], rest, value) ?? null;
    return list;
  }
  const object: JsonObject = isPlainObject(root) ? { ...root } : {};
  const next = setAt(object[key], rest, value);
  if (next === undefined) delete object[key];
  else object[key] = next;
  return object;
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** The object variants of a union node, or null when the node is no union of objects. */
export function objectVariants(node: JsonSchemaNode): JsonSchemaNode[] | null {
  const variants = node.oneOf ?? node.anyOf;
  if (!variants || variants.length === 0) return null;
  return variants.every((v) => v.type === 'object' && v.properties) ? variants : null;
}

/** The constant choices of a union of constants (e.g. max token length 75 | 150 | 225), or null. */
export function constChoices(node: JsonSchemaNode): Array<string | number | boolean | null> | null {
  const variants = node.oneOf ?? node.anyOf;
  if (!variants || variants.length === 0) return null;
  if (!variants.every((v) => v.const !== undefined)) return null;
  return variants.map((v) => v.const as string | number | boolean | null);
}

function choicesOf(node: JsonSchemaNode | undefined): Array<string | number | boolean | null> | null {
  if (!node) return null;
  if (node.const !== undefined) return [node.const];
  if (node.enum) return node.enum;
  return null;
}

/** The property that tells a union's variants apart (`kind`, `unit`, `type`, `mode`), or null. */
export function discriminatorOf(variants: JsonSchemaNode[]): string | null {
  const first = variants[0];
  if (!first?.properties) return null;
  for (const key of Object.keys(first.properties)) {
    const sets = variants.map((v) => choicesOf(v.properties?.[key]));
    if (sets.some((c) => c === null)) continue;
    // A key every variant fixes to the same value (the run's `schema` id) tells nothing apart.
    const all = sets.flatMap((c) => c ?? []);
    if (new Set(all).size === all.length) return key;
  }
  return null;
}

/** Every value the discriminator can take, in schema order, with the variant each selects. */
export function discriminatorChoices(variants: JsonSchemaNode[], key: string): Array<{ value: string | number | boolean | null; variant: JsonSchemaNode }> {
  return variants.flatMap((variant) => (choicesOf(variant.properties?.[key]) ?? []).map((value) => ({ value, variant })));
}

export function variantFor(variants: JsonSchemaNode[], key: string, value: Json): JsonSchemaNode | null {
  const discriminant = isPlainObject(value) ? value[key] : undefined;
  return variants.find((v) => (choicesOf(v.properties?.[key]) ?? []).some((c) => c === discriminant)) ?? null;
}

/** Keys that pick a variant of a union (optimizer `type`, duration `unit`): a new variant replaces the old whole. */
const VARIANT_KEYS = ['type', 'unit', 'mode', 'kind'] as const;

/** Deep merge with the presets' rule (src/training/presets/apply-preset.ts): lists and new variants replace. */
export function mergeConfig(base: Json, override: Json): Json {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return clone(override);
  if (VARIANT_KEYS.some((key) => key in override && key in base && override[key] !== base[key])) return clone(override);
  const merged: JsonObject = { ...base };
  for (const [key, value] of Object.entries(override)) merged[key] = mergeConfig(base[key], value);
  return merged;
}

/**
 * The value a new field starts with: its default (objects filled with their properties' defaults), else for a
 * required field the simplest value of its type; undefined for an optional field without a default.
 */
export function initialValue(node: JsonSchemaNode, required: boolean): Json {
  const variants = objectVariants(node);
  if (variants) {
    const key = discriminatorOf(variants);
    if (node.default !== undefined && key) {
      const variant = variantFor(variants, key, node.default as Json);
      return variant ? mergeConfig(initialValue(variant, true), clone(node.default as Json)) : clone(node.default as Json);
    }
    if (!required) return undefined;
    const first = variants[0];
    if (!first) return undefined;
    const value = initialValue(first, true);
    if (key && isPlainObject(value) && value[key] === undefined) value[key] = choicesOf(first.properties?.[key])?.[0] ?? undefined;
    return value;
  }
  if (node.const !== undefined) return node.const;
  const consts = constChoices(node);
  if (consts) return node.default !== undefined ? clone(node.default as Json) : required ? consts[0] : undefined;

  if (node.type === 'object' && node.properties) {
    if (node.default === undefined && !required) return undefined;
    const object: JsonObject = {};
    const requiredKeys = new Set(node.required ?? []);
    for (const [key, child] of Object.entries(node.properties)) {
      const value = initialValue(child, requiredKeys.has(key));
      if (value !== undefined) object[key] = value;
    }
    return isPlainObject(node.default) ? (mergeConfig(object, clone(node.default as Json)) as JsonObject) : object;
  }
  if (node.default !== undefined) return clone(node.default as Json);
  if (!required) return undefined;
  if (node.enum) return node.enum[0] ?? null;
  if (node.type === 'array') {
    const item = node.items === false ? undefined : node.items;
    const count = node.minItems ?? 0;
    if (node.prefixItems) return undefined;
    return Array.from({ length: count }, () => (item ? (initialValue(item, true) ?? null) : null));
  }
  if (node.type === 'string') return '';
  if (node.type === 'boolean') return false;
  // A required number has no good guess: left empty, the validator names it.
  return undefined;
}

/** `minSnrGamma` → `Min SNR gamma`; a few names get their usual spelling. */
const LABELS: Record<string, string> = {
  clipL: 'CLIP-L',
  clipG: 'CLIP-G',
  t5xxl: 'T5-XXL',
  gemma2: 'Gemma 2',
  vae: 'VAE',
  lr: 'Learning rate',
  dim: 'Rank (dim)',
  convDim: 'Conv rank (conv dim)',
  minSnrGamma: 'Min-SNR gamma',
  ipNoiseGamma: 'IP noise gamma',
  vPrediction: 'v-prediction',
  noHalfVae: 'No half VAE',
  fp8Base: 'fp8 base',
  unet: 'U-Net',
  isReg: 'Regularisation',
  d0: 'd0',
  dCoef: 'd coef',
  klBeta: 'KL beta',
  klWarmupSteps: 'KL warm-up steps',
  klFreeBits: 'KL free bits',
  r1Interval: 'R1 interval',
  r1Gamma: 'R1 gamma',
  useEma: 'Use EMA',
  nEpochs: 'Epochs',
  imgSize: 'Image size',
  lokrFactor: 'LoKr factor',
  mseWeight: 'MSE weight',
  vaeDim: 'VAE dim',
  vaeBatchSize: 'VAE batch size',
  fineTuneFrom: 'Fine-tune from',
  trainVae: 'Train VAE',
  ganTraining: 'GAN training',
  trainSpade: 'Train SPADE',
  applyT5AttnMask: 'Apply T5 attention mask',
  useFp16: 'Use fp16',
  featureMapsDimDisc: 'Feature maps dim (discriminator)',
  D_img: 'D_img',
};

export function labelFor(key: string | number): string {
  if (typeof key === 'number') return `#${key + 1}`;
  const known = LABELS[key];
  if (known) return known;
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Za-z])([0-9]+)/g, '$1 $2')
    .split(/[\s_]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A DOM id for a field's control; ids only need to be unique on the page. */
export function fieldId(dotted: string): string {
  return `tf-${dotted.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

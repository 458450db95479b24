import { discriminatorOf, initialValue, isPlainObject, objectVariants, variantFor } from './schema.ts';
import type { Json, JsonObject, JsonSchemaNode } from './types.ts';

/**
 * `value` with every missing field that has a default (or is required) filled in, at every depth, so the form
 * shows what will run. Values already there are kept as they are, valid or not: the validator judges them.
 */
export function withDefaults(node: JsonSchemaNode, value: Json): Json {
  const variants = objectVariants(node);
  if (variants) {
    const key = discriminatorOf(variants);
    const variant = key ? variantFor(variants, key, value) : null;
    return variant ? withDefaults(variant, value) : value;
  }
  if (node.type === 'object' && node.properties && isPlainObject(value)) {
    const required = new Set(node.required ?? []);
    const filled: JsonObject = { ...value };
    for (const [key, child] of Object.entries(node.properties)) {
      const current = filled[key];
      const next = current === undefined ? initialValue(child, required.has(key)) : current;
      const deep = next === undefined ? undefined : withDefaults(child, next);
      if (deep !== undefined) filled[key] = deep;
    }
    return filled;
  }
  if (node.type === 'array' && Array.isArray(value) && node.items && typeof node.items === 'object') {
    const item = node.items;
    return value.map((entry) => (entry === null ? entry : withDefaults(item, entry)));
  }
  return value;
}

/**
 * Put the operator's choices into an imported config: each operator path (and each missing required input)
 * replaced by the library id or dataset name the operator picked. Roles without a config slot
 * (`sample-prompts`) are left to the caller.
 */
import type { KohyaRunInput } from '../schema/index.ts';
import type { ImportSuccess, MissingInput, OperatorPath } from './types.ts';

/** The id or name for one entry; undefined leaves the field as it is. */
export type OperatorChoice = (entry: OperatorPath | MissingInput) => string | undefined;

const SLOT_FIELD = /^(model\.(base|vae|clipL|clipG|t5xxl|gemma2)|network\.initialWeights|datasets\[\d+\]\.dataset|datasets\[\d+\]\.regularisation\[\d+\]\.dataset)$/;

function setField(root: Record<string, unknown>, field: string, value: string): void {
  const parts = field.split('.').flatMap((part) => {
    const match = /^([A-Za-z][A-Za-z0-9]*)((?:\[\d+\])*)$/.exec(part);
    if (match === null) throw new RangeError(`unexpected field ${field}`);
    const indexes = [...(match[2] ?? '').matchAll(/\[(\d+)\]/g)].map((found) => Number(found[1]));
    return [match[1] ?? '', ...indexes];
  });
  let node: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < parts.length - 1; i += 1) {
    const key = parts[i] as string | number;
    const nextIsIndex = typeof parts[i + 1] === 'number';
    const container = node as Record<string | number, unknown>;
    if (container[key] === undefined || container[key] === null) container[key] = nextIsIndex ? [] : {};
    node = container[key] as Record<string, unknown> | unknown[];
  }
  (node as Record<string | number, unknown>)[parts[parts.length - 1] as string | number] = value;
}

/** A copy of `result.config` with the chosen ids in place of operator paths. */
export function substituteOperatorPaths(result: ImportSuccess, choose: OperatorChoice): KohyaRunInput {
  const config = structuredClone(result.config) as unknown as Record<string, unknown>;
  for (const entry of [...result.operatorPaths, ...result.missing]) {
    if (!SLOT_FIELD.test(entry.field)) continue;
    const id = choose(entry);
    if (id !== undefined) setField(config, entry.field, id);
  }
  return config as unknown as KohyaRunInput;
}

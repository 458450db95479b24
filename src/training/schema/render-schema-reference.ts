/**
 * The run-config reference page for the docs, generated from the schema's own descriptions and bounds so the
 * page cannot drift from what the CLI and the API accept. It reads the JSON Schema export rather than zod
 * internals: that is the public, stable view of the same schema.
 */
import { FLUXFLOW_DEAD_FIELDS } from './fluxflow-run.ts';
import { RUN_SCHEMA_ID } from './fields.ts';
import { type JsonSchemaNode, runConfigJsonSchema } from './run-config-json-schema.ts';

interface Row {
  path: string;
  type: string;
  allowed: string;
  default: string;
  description: string;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll(/\s*\n\s*/g, ' ');
}

function literal(value: unknown): string {
  return `\`${JSON.stringify(value)}\``;
}

function typeOf(node: JsonSchemaNode): string {
  if (node.const !== undefined) return 'constant';
  if (node.enum !== undefined) return 'choice';
  const branches = node.oneOf ?? node.anyOf;
  if (branches?.every((branch) => branch.const !== undefined) === true) return 'choice';
  if (branches !== undefined) return [...new Set(branches.map(typeOf))].join(' or ');
  if (node.type === 'array') {
    if (node.prefixItems !== undefined) return `pair of ${node.prefixItems.map(typeOf).join(', ')}`;
    return node.items === undefined || node.items === false ? 'list' : `list of ${typeOf(node.items)}`;
  }
  return Array.isArray(node.type) ? node.type.join(' or ') : (node.type ?? 'any');
}

function range(min: number | undefined, max: number | undefined, unit: string): string | undefined {
  if (min === undefined && max === undefined) return undefined;
  if (min !== undefined && max !== undefined) return min === max ? `exactly ${min}${unit}` : `${min}–${max}${unit}`;
  return min !== undefined ? `at least ${min}${unit}` : `at most ${max}${unit}`;
}

function allowedOf(node: JsonSchemaNode): string {
  const parts: string[] = [];
  if (node.const !== undefined) parts.push(literal(node.const));
  if (node.enum !== undefined) parts.push(node.enum.map(literal).join(', '));
  const branches = node.oneOf ?? node.anyOf;
  if (branches !== undefined && branches.every((branch) => branch.const !== undefined || branch.enum !== undefined)) {
    parts.push(branches.map(allowedOf).join(', '));
  }
  const numbers = range(node.minimum ?? node.exclusiveMinimum, node.maximum ?? node.exclusiveMaximum, '');
  if (numbers !== undefined && (node.type === 'number' || node.type === 'integer')) parts.push(numbers);
  if (node.multipleOf !== undefined) parts.push(`multiple of ${node.multipleOf}`);
  const length = range(node.minLength, node.maxLength, ' characters');
  if (length !== undefined) parts.push(length);
  if (node.pattern !== undefined) parts.push(`matching \`${node.pattern}\``);
  const items = range(node.minItems, node.maxItems, ' items');
  if (items !== undefined && node.prefixItems === undefined) parts.push(items);
  if (node.prefixItems !== undefined) parts.push(node.prefixItems.map(allowedOf).join('; '));
  return parts.join('; ');
}

/** The property whose constant or choice tells a union's objects apart (`type`, `unit`, `mode`). */
function discriminatorOf(branches: readonly JsonSchemaNode[]): string | undefined {
  const first = branches[0]?.properties;
  if (first === undefined) return undefined;
  return Object.keys(first).find((key) =>
    branches.every((branch) => {
      const property = branch.properties?.[key];
      return property !== undefined && (property.const !== undefined || property.enum !== undefined);
    }),
  );
}

function collect(node: JsonSchemaNode, path: string, required: boolean, condition: string, rows: Row[]): void {
  const defaultText = node.default !== undefined ? literal(node.default) : required ? 'required' : '';
  rows.push({ path, type: typeOf(node), allowed: allowedOf(node), default: defaultText, description: `${condition}${node.description ?? ''}` });
  descend(node, path, condition, rows);
}

/** Rows for what is inside a node: object fields, the fields of a list's items, each variant of a union. */
function descend(node: JsonSchemaNode, path: string, condition: string, rows: Row[]): void {
  if (node.properties !== undefined) {
    const requiredKeys = new Set(node.required ?? []);
    for (const [key, child] of Object.entries(node.properties)) {
      collect(child, path === '' ? key : `${path}.${key}`, requiredKeys.has(key), condition, rows);
    }
    return;
  }
  if (node.type === 'array' && node.items !== undefined && node.items !== false) {
    descend(node.items, `${path}[]`, condition, rows);
    return;
  }
  const branches = (node.oneOf ?? node.anyOf ?? []).filter((branch) => branch.properties !== undefined);
  const key = discriminatorOf(branches);
  for (const branch of branches) {
    const tag = key === undefined ? undefined : branch.properties?.[key];
    const values = tag === undefined ? '' : (tag.enum ?? [tag.const]).map(literal).join(', ');
    descend(branch, path, key === undefined ? condition : `When \`${key}\` is ${values}: `, rows);
  }
}

function table(rows: readonly Row[]): string {
  const lines = ['| Field | Type | Allowed | Default | Description |', '|---|---|---|---|---|'];
  for (const row of rows) {
    lines.push(`| \`${cell(row.path)}\` | ${cell(row.type)} | ${cell(row.allowed)} | ${cell(row.default)} | ${cell(row.description)} |`);
  }
  return lines.join('\n');
}

/** Markdown for the docs: one table per run kind, then the FluxFlow settings that are shown disabled. */
export function renderSchemaReference(): string {
  const root = runConfigJsonSchema();
  const sections: string[] = [
    '# Run config reference',
    '',
    `Generated from the run-config schema \`${RUN_SCHEMA_ID}\`; do not edit by hand. A run config is JSON with \`"schema": "${RUN_SCHEMA_ID}"\` and a \`kind\`. Unknown fields are refused; fields left out take the default shown. A field path like \`datasets[].subsets[].repeats\` means a field of each item of a list.`,
  ];
  for (const kind of root.oneOf ?? []) {
    const rows: Row[] = [];
    descend(kind, '', '', rows);
    const name = kind.properties?.['kind']?.const;
    sections.push('', `## \`kind: ${JSON.stringify(name)}\``, '', kind.description ?? '', '', table(rows));
  }
  sections.push('', '### FluxFlow settings not offered', '', 'The form shows these disabled.', '', '| FluxFlow key | Why |', '|---|---|');
  for (const dead of FLUXFLOW_DEAD_FIELDS) sections.push(`| \`${cell(dead.field)}\` | ${cell(dead.reason)} |`);
  return `${sections.join('\n')}\n`;
}

/** Shapes of the studio's training API (`/api/train/*`), as the server sends them. */

/** A JSON Schema node (draft 2020-12, from zod's `z.toJSONSchema` with io 'input'), as far as the form reads it. */
export interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  additionalProperties?: boolean | JsonSchemaNode;
  items?: JsonSchemaNode | false;
  prefixItems?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
  anyOf?: JsonSchemaNode[];
  enum?: Array<string | number | boolean | null>;
  const?: string | number | boolean | null;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
}

export interface DeadField {
  /** FluxFlow's own key, as a path in its YAML config. */
  field: string;
  reason: string;
}

export interface TrainSchema {
  jsonSchema: JsonSchemaNode;
  deadFields: DeadField[];
}

export interface RunPreset {
  name: string;
  title: string;
  description: string;
  family: string;
  vramGb: number;
  config: Record<string, unknown>;
}

export type IssueSeverity = 'error' | 'warning' | 'info';

export interface RunIssue {
  code: string;
  severity: IssueSeverity;
  /** Where in the config, e.g. `datasets[0].subsets[1].shuffleCaption`; '' for the run as a whole. */
  path: string;
  message: string;
  hint: string | null;
}

export interface ValidateResult {
  ok: boolean;
  issues: RunIssue[];
}

export interface DryRun {
  engine: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  files: Record<string, string>;
  sandbox: unknown;
  plan: unknown;
}

export interface DryRunResult {
  issues: RunIssue[];
  dryRun: DryRun | null;
}

/** A run config as the form edits it: plain JSON. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined } | undefined;
export type JsonObject = { [key: string]: Json | undefined };

/** A path into the config: property names and array indexes. */
export type Path = ReadonlyArray<string | number>;

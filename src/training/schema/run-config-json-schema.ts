import { z } from 'zod';
import { runConfigSchema } from './run-config.ts';

/** A JSON Schema node, as far as lorasmith's readers of it (the web form, the reference page) look. */
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

/**
 * The run config as JSON Schema (draft 2020-12) for the web form: input shapes, so fields with defaults are
 * optional and carry their `default`.
 */
export function runConfigJsonSchema(): JsonSchemaNode {
  return z.toJSONSchema(runConfigSchema, { io: 'input' }) as JsonSchemaNode;
}

import { z } from 'zod';
import type { JsonSchemaNode } from './json-schema-node.ts';
import { runConfigSchema } from './run-config.ts';

export type { JsonSchemaNode };

/**
 * The run config as JSON Schema (draft 2020-12) for the web form: input shapes, so fields with defaults are
 * optional and carry their `default`.
 */
export function runConfigJsonSchema(): JsonSchemaNode {
  return z.toJSONSchema(runConfigSchema, { io: 'input' }) as JsonSchemaNode;
}

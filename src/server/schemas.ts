/** The API's shapes at the edge (zod): they validate requests and responses and generate the OpenAPI document. */
import { z } from 'zod';
import { HUB_SECRET_NAMES, SECRET_NAMES } from '../core/secret-store.ts';
import { TASK_STATES } from '../tasks/task-types.ts';

export const errorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional(), details: z.record(z.string(), z.unknown()).optional() }),
});

/** Body of an action route: `{}` or none at all (fastify hands a missing body to the validator as null). */
export const optionalEmptyBody = z.object({}).strict().nullish();
export const idParams = z.object({ id: z.string().min(1).max(100) }).strict();
export const nameParams = z.object({ name: z.string().min(1).max(64) }).strict();
export const limitQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }).strict();

export const healthBody = z.object({ ok: z.literal(true), version: z.string(), pid: z.number(), startedAt: z.string() });

export const sessionBody = z.object({ sessionId: z.string(), csrfToken: z.string(), expiresAt: z.string() });

export const workspaceBody = z.object({
  home: z.string(),
  version: z.string(),
  node: z.string(),
  dbFile: z.string(),
  freeDiskBytes: z.number(),
  serverUrl: z.string(),
  exposed: z.boolean(),
});

export const secretSummary = z.object({
  name: z.enum(SECRET_NAMES),
  label: z.string(),
  present: z.boolean(),
  masked: z.string().nullable(),
  source: z.enum(['store', 'env']).nullable(),
});
export const secretParams = z.object({ name: z.enum(HUB_SECRET_NAMES) }).strict();
export const secretPutBody = z.object({ value: z.string().min(1).max(4096) }).strict();

export const tokenInfo = z.object({ name: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable() });
export const tokenCreateBody = z.object({ name: z.string().min(1).max(64) }).strict();

export const sessionInfo = z.object({
  id: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  lastSeenAt: z.string(),
  userAgent: z.string().nullable(),
  current: z.boolean(),
});

export const securityEvent = z.object({ id: z.number(), at: z.string(), kind: z.string(), detail: z.string(), remote: z.string().nullable() });

export const taskRecord = z.object({
  id: z.string(),
  kind: z.string(),
  state: z.enum(TASK_STATES),
  detail: z.string().nullable(),
  params: z.unknown(),
  progress: z.object({ done: z.number(), total: z.number().nullable(), message: z.string().nullable() }),
  result: z.unknown(),
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export const taskListQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(500).default(50), kind: z.string().max(64).optional() })
  .strict();

export const pairingBody = z.object({ url: z.string(), expiresAt: z.string() });

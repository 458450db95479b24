/**
 * The `engines` settings section: where an engine lives when it is not the workspace's own install. These are
 * operator paths (DESIGN.md §6.3), so the section is not part of the generic settings patch: only
 * `lorasmith engine set` and the loopback-only `PUT /api/engines/:engine/location` write it, after
 * `checkEngineLocationPatch` (set-engine-location.ts) has seen that each path exists. Pure zod, no I/O: the
 * stored values are re-read on every start, and a path that later disappears is a detection problem, not an
 * unreadable settings row.
 */
import path from 'node:path';
import { z } from 'zod';

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** An absolute, normalised path without control characters (no `..`, no `//`, no trailing `/`). */
export const operatorPathSchema = z
  .string()
  .min(2)
  .max(4096)
  .refine((value) => !CONTROL.test(value), 'the path contains control characters')
  .refine((value) => path.isAbsolute(value) && path.normalize(value) === value && !value.endsWith('/'), 'an absolute, normalised path (e.g. /opt/sd-scripts), without "..", "//" or a trailing "/"');

export const enginesSettingsSchema = z
  .object({
    /** The sd-scripts checkout (LORASMITH_KOHYA_ROOT wins over it). */
    kohyaRoot: operatorPathSchema.nullable().default(null),
    /** The Python of sd-scripts' venv (LORASMITH_KOHYA_PYTHON wins over it). */
    kohyaPython: operatorPathSchema.nullable().default(null),
    /** The Python of the venv with fluxflow-training (LORASMITH_FLUXFLOW_PYTHON wins over it). */
    fluxflowPython: operatorPathSchema.nullable().default(null),
  })
  .strict();

export type EnginesSettings = z.infer<typeof enginesSettingsSchema>;

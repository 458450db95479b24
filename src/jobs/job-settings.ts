/**
 * The jobs section of the settings (pure zod, no I/O; src/core/settings.ts holds its values): the per-phase
 * hang watchdog (DESIGN.md §5: start-up, caching, training at k × the last step time with a floor), how long
 * a stop waits between its signals, the log segments the shim keeps, and whether runs may go unsandboxed.
 */
import { z } from 'zod';

const MiB = 1024 * 1024;

export const jobSettingsSchema = z
  .object({
    /** Without bubblewrap, a run started as root runs only when this is on (or `--allow-unsandboxed`). */
    allowUnsandboxed: z.boolean().default(false),
    /** Seconds without output before caching or training starts (model loading, tokenizers, buckets). */
    startupIdleS: z.number().int().min(10).max(86_400).default(1800),
    /** Seconds without output while latents / text-encoder outputs are cached. */
    cachingIdleS: z.number().int().min(10).max(86_400).default(1800),
    /** Training hangs after this many times the last step's duration without a new step… */
    stepFactor: z.number().min(1).max(1000).default(20),
    /** …but never sooner than this many seconds. */
    stepFloorS: z.number().int().min(5).max(86_400).default(900),
    /** Stop: SIGINT, then SIGTERM after this many seconds, then the sandbox is killed after as many again. */
    stopGraceS: z.number().int().min(1).max(3600).default(30),
    logSegmentBytes: z.number().int().min(64 * 1024).max(1024 * MiB).default(8 * MiB),
    logKeepSegments: z.number().int().min(2).max(1000).default(8),
  })
  .strict();

export type JobSettings = z.infer<typeof jobSettingsSchema>;

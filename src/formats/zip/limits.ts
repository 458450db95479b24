/**
 * Archive limits (ARC-R03) as a zod schema with defaults. The settings schema is owned elsewhere; callers
 * pass a parsed object here, so the defaults live in one place and tests can lower them.
 */
import { z } from 'zod';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const archiveLimitsSchema = z
  .object({
    maxEntries: int(1, 1_000_000).default(100_000),
    maxEntryBytes: int(1, 64 * GiB).default(512 * MiB),
    maxTotalBytes: int(1, 1024 * GiB).default(20 * GiB),
    /** Uncompressed : compressed, per deflated entry (and so in total). */
    maxRatio: int(2, 10_000).default(100),
    /** Share of the free disk space an archive's content may not take: 10 leaves 10 % free. */
    freeDiskReservePercent: int(0, 90).default(10),
  })
  .strict();

export type ArchiveLimits = z.infer<typeof archiveLimitsSchema>;

export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = Object.freeze(archiveLimitsSchema.parse({}));

/** Image and caption limits (ARC-R06) as a zod schema with defaults; callers pass a parsed object. */
import { z } from 'zod';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const imageLimitsSchema = z
  .object({
    maxImagePixels: int(1, 1_000_000_000).default(100_000_000),
    maxImageSide: int(1, 65_535).default(32_768),
    maxCaptionBytes: int(1, 16 * 1024 * 1024).default(64 * 1024),
    thumbnailSize: int(32, 1024).default(256),
  })
  .strict();

export type ImageLimits = z.infer<typeof imageLimitsSchema>;

export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze(imageLimitsSchema.parse({}));

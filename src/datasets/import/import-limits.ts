/**
 * Everything an import is bounded by, flat so it can become one settings section: the archive limits
 * (ARC-R03) and the image and caption limits (ARC-R06), with their defaults.
 */
import type { z } from 'zod';
import { archiveLimitsSchema } from '../../formats/zip/limits.ts';
import { imageLimitsSchema } from '../images/image-limits.ts';

export const datasetImportLimitsSchema = archiveLimitsSchema.extend(imageLimitsSchema.shape).strict();
export type DatasetImportLimits = z.infer<typeof datasetImportLimitsSchema>;

export const DEFAULT_DATASET_IMPORT_LIMITS: Readonly<DatasetImportLimits> = Object.freeze(datasetImportLimitsSchema.parse({}));

/**
 * The one run config: a kohya LoRA run or a FluxFlow run, told apart by `kind`. It drives CLI and API
 * validation, the web form (through `runConfigJsonSchema`) and the reference page (`renderSchemaReference`).
 */
import { z } from 'zod';
import { fluxflowRunSchema } from './fluxflow-run.ts';
import { kohyaRunSchema } from './kohya-run.ts';

export const runConfigSchema = z.discriminatedUnion('kind', [kohyaRunSchema, fluxflowRunSchema]).describe('A training run.');

export type RunConfig = z.output<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;

/**
 * One search entry point for the CLI and the API: provider, query and filters, validated here, answered
 * by the Hugging Face or Civitai client.
 */
import { LorasmithError } from '../core/errors.ts';
import type { CivitaiModelSummary } from './civitai/civitai-client.ts';
import type { HfModelSummary } from './hf/hf-client.ts';
import type { HubContext } from './hub-context.ts';

export interface SearchParams {
  provider: 'hf' | 'civitai';
  query?: string;
  type?: string;
  baseModel?: string;
  sort?: string;
  limit?: number;
  nsfw?: boolean;
  signal?: AbortSignal;
}

const CIVITAI_TYPES = ['Checkpoint', 'TextualInversion', 'Hypernetwork', 'AestheticGradient', 'LORA', 'LoCon', 'DoRA', 'Controlnet', 'Upscaler', 'MotionModule', 'VAE', 'Poses', 'Wildcards', 'Workflows', 'Other'];
const CIVITAI_ALIASES: Record<string, string> = { lora: 'LORA', checkpoint: 'Checkpoint', vae: 'VAE', embedding: 'TextualInversion', locon: 'LoCon', dora: 'DoRA', controlnet: 'Controlnet' };

function bad(message: string, hint: string): LorasmithError {
  return new LorasmithError({ code: 'usage', message, hint, exitCode: 2, status: 400 });
}

export async function searchHub(hub: HubContext, params: SearchParams): Promise<HfModelSummary[] | CivitaiModelSummary[]> {
  const limit = params.limit ?? 20;
  const query = (params.query ?? '').slice(0, 200);
  if (params.baseModel !== undefined && (params.baseModel.length > 200 || /[\u0000-\u001f]/.test(params.baseModel))) throw bad('The base model filter is too long or has control characters.', 'Give a repo id or a base model name.');
  if (params.provider === 'hf') {
    const sort = params.sort ?? 'downloads';
    if (sort !== 'downloads' && sort !== 'recent' && sort !== 'likes') throw bad(`Hugging Face sorts by downloads, recent or likes, not ${JSON.stringify(sort.slice(0, 40))}.`, 'Use --sort downloads|recent|likes.');
    const type = params.type?.toLowerCase();
    if (type !== undefined && !/^[a-z0-9._:/-]{1,100}$/.test(type)) throw bad('The Hugging Face type must be a tag such as lora or diffusers.', 'Use --type lora.');
    return hub.hf.client.search({ query, ...(type === undefined ? {} : { tags: [type] }), ...(params.baseModel === undefined ? {} : { baseModel: params.baseModel }), sort, limit, ...(params.signal === undefined ? {} : { signal: params.signal }) });
  }
  const sort = params.sort ?? 'downloads';
  if (sort !== 'downloads' && sort !== 'recent' && sort !== 'rating') throw bad(`Civitai sorts by downloads, recent or rating, not ${JSON.stringify(sort.slice(0, 40))}.`, 'Use --sort downloads|recent|rating.');
  let types: string[] = [];
  if (params.type !== undefined) {
    const mapped = CIVITAI_ALIASES[params.type.toLowerCase()] ?? CIVITAI_TYPES.find((candidate) => candidate === params.type);
    if (mapped === undefined) throw bad(`Unknown Civitai type ${JSON.stringify(params.type.slice(0, 40))}.`, `Use one of ${CIVITAI_TYPES.join(', ')}.`);
    types = [mapped];
  }
  return hub.civitai.client.search({ query, types, ...(params.baseModel === undefined ? {} : { baseModel: params.baseModel }), sort, limit, nsfw: params.nsfw === true, ...(params.signal === undefined ? {} : { signal: params.signal }) });
}

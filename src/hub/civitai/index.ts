export type { CivitaiClient, CivitaiClientParams, CivitaiFile, CivitaiModel, CivitaiModelSummary, CivitaiSearchParams, CivitaiVersion } from './civitai-client.ts';
export { chooseCivitaiFile, civitaiError, civitaiExpected, createCivitaiClient } from './civitai-client.ts';

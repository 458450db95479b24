/**
 * `models identify`: look a file up on Civitai by its SHA-256 (`/api/v1/model-versions/by-hash/{hash}`)
 * and bring back what the uploader declared — base model, trigger words, the model and version it belongs
 * to — plus the model's licence flags (`/api/v1/models/{id}`). Information only: the file's own scan and
 * fingerprint stay what decides. A library entry keeps the answer on its record.
 */
import { isLorasmithError } from '../core/errors.ts';
import type { ModelLibrary } from '../library/model-library.ts';
import type { CivitaiIdentification, ModelRecord } from '../library/model-record.ts';
import type { HubContext } from './hub-context.ts';

export interface IdentifyOptions {
  signal?: AbortSignal;
  /** Clock for `checkedAt` (tests). */
  now?: () => number;
}

export async function identifyOnCivitai(hub: HubContext, sha256: string, options: IdentifyOptions = {}): Promise<CivitaiIdentification> {
  const version = await hub.civitai.client.byHash(sha256, options.signal);
  const checkedAt = new Date((options.now ?? Date.now)()).toISOString();
  if (version === null) {
    return { found: false, sha256, checkedAt, modelId: null, versionId: null, modelName: null, versionName: null, modelType: null, baseModel: null, trainedWords: [], license: null, url: null };
  }
  // A version whose model page is gone (or hidden) still identifies the file; only its licence is unknown.
  const model = await hub.civitai.client.model(version.modelId, options.signal).catch((error: unknown) => {
    if (isLorasmithError(error) && (error.code === 'not-found' || error.code === 'gone')) return null;
    throw error;
  });
  return {
    found: true,
    sha256,
    checkedAt,
    modelId: version.modelId,
    versionId: version.id,
    modelName: version.modelName ?? model?.name ?? null,
    versionName: version.name,
    modelType: version.modelType ?? model?.type ?? null,
    baseModel: version.baseModel,
    trainedWords: version.trainedWords,
    license: model?.license ?? null,
    url: `${hub.civitai.endpoint}/models/${version.modelId}?modelVersionId=${version.id}`,
  };
}

/** Identify a library entry by its main file's SHA-256 and keep the answer on its record. */
export async function identifyLibraryModel(params: { hub: HubContext; library: ModelLibrary; id: string } & IdentifyOptions): Promise<ModelRecord> {
  const model = await params.library.get(params.id);
  const identification = await identifyOnCivitai(params.hub, model.hashes.sha256, params);
  return params.library.setCivitai(model.id, identification);
}

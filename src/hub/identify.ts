/**
 * `models identify`: look a local file up on Civitai by its SHA-256 and bring back what the uploader
 * declared — base model, trigger words, the model and version it belongs to. Information only: the
 * file's own scan and fingerprint stay what decides.
 */
import type { HubContext } from './hub-context.ts';

export interface Identification {
  found: boolean;
  sha256: string;
  modelId?: number;
  versionId?: number;
  modelName?: string | null;
  versionName?: string | null;
  modelType?: string | null;
  baseModel?: string | null;
  trainedWords?: string[];
  url?: string;
}

export async function identifyOnCivitai(hub: HubContext, sha256: string, signal?: AbortSignal): Promise<Identification> {
  const version = await hub.civitai.client.byHash(sha256, signal);
  if (version === null) return { found: false, sha256 };
  return {
    found: true,
    sha256,
    modelId: version.modelId,
    versionId: version.id,
    modelName: version.modelName,
    versionName: version.name,
    modelType: version.modelType,
    baseModel: version.baseModel,
    trainedWords: version.trainedWords,
    url: `${hub.civitai.endpoint}/models/${version.modelId}?modelVersionId=${version.id}`,
  };
}

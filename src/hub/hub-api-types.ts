/**
 * What the hub routes and the `pull` task send: search results, a repo's or a Civitai version's files, and a
 * pull's result. Free of node: imports because the web UI imports these types too; the clients (hf-client.ts,
 * civitai-client.ts), search.ts and pull.ts fill them in and re-export them.
 */
import type { ModelRecord } from '../library/model-record.ts';

export interface HfModelSummary {
  id: string;
  downloads: number;
  likes: number;
  updatedAt: string;
  gated: boolean;
  private: boolean;
  tags: string[];
  pipelineTag: string | null;
}

export interface CivitaiFile {
  id: number;
  /** Untrusted: sanitised before it names anything on disk (CV-R06). */
  name: string;
  type: string | null;
  sizeKB: number;
  primary: boolean;
  format: string | null;
  fp: string | null;
  /** Informational only (CV-R05). */
  pickleScanResult: string | null;
  virusScanResult: string | null;
  /** Only well-formed hashes, upper-case keys as the API names them. */
  hashes: Partial<Record<'AutoV1' | 'AutoV2' | 'AutoV3' | 'SHA256' | 'CRC32' | 'BLAKE3', string>>;
}

export interface CivitaiVersion {
  id: number;
  modelId: number;
  name: string | null;
  modelName: string | null;
  modelType: string | null;
  baseModel: string | null;
  trainedWords: string[];
  files: CivitaiFile[];
}

export interface CivitaiModelSummary {
  id: number;
  name: string;
  type: string | null;
  nsfw: boolean;
  creator: string | null;
  downloads: number;
  versions: Array<{ id: number; name: string | null; baseModel: string | null }>;
}

/** A repo's files as the API and the CLI show them: digests, the Hub's scan status, the pinned pull source. */
export interface RepoFileListing {
  repo: string;
  revision: string;
  commit: string;
  files: Array<{ path: string; size: number; lfsSha256: string | null; gitBlobId: string | null; xet: boolean; hubScanStatus: string | null; source: string }>;
}

/** A Civitai version as the API and the CLI show it: each file with its pull source. */
export type VersionListing = Omit<CivitaiVersion, 'files'> & { files: Array<CivitaiFile & { source: string }> };

export interface PulledFile {
  /** The name in the library folder. */
  name: string;
  /** Where it came from: the repo path, the Civitai file id and name, or the URL (host + path). */
  from: string;
  size: number;
  sha256: string;
  verifiedBy: Array<'sha256' | 'git-sha1'>;
  resumedFrom: number;
}

export interface PullResult {
  state: 'stored' | 'awaiting-confirmation';
  /** The source's type (parse-source.ts `PullSource`). */
  provider: 'hf' | 'civitai' | 'url';
  /** The source as a label (never a signed query). */
  source: string;
  /** Hugging Face: the commit; Civitai: the version id. */
  revision: string | null;
  /** The Civitai file chosen (CV-R07: the output names it). */
  civitaiFile: { id: number; name: string } | null;
  files: PulledFile[];
  /** The stored record (a multi-file pull is one entry; new or a duplicate); empty while awaiting confirmation. */
  models: ModelRecord[];
  duplicates: string[];
  verified: boolean;
  /** Why confirmation is needed. */
  pendingReason: string | null;
}

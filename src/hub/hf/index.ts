export type { HfClient, HfClientParams, HfFileEntry, HfModelSummary, HfSearchParams } from './hf-client.ts';
export { createHfClient, hfExpected, parseNextLink } from './hf-client.ts';
export { hfError } from './hf-errors.ts';
export { assertRepoId, assertRepoPath, assertRevision, encodeRepoPath, isCommit, repoFolderName, repoIdProblem, repoPathProblem, resolveUrl, revisionProblem } from './hf-names.ts';

/**
 * The run shim and its sandbox (DESIGN.md §5, PROC-R01–R06), as the jobs module uses them: choose a sandbox,
 * start a shim on a prepared run folder, follow and stop it through the folder's files, read its logs from a
 * cursor, collect the run's artefacts.
 */
export * from './protocol.ts';
export { startShim, isShimAlive, isProcessAlive, killOrphanedEngine, requestStop, waitForShimExit, SHIM_MAIN, type StartShimParams } from './client.ts';
export { readShimStatus, statusPath } from './status-file.ts';
export { readLogChunk, type LogChunk } from './read-log-chunk.ts';
export { readParsedCursor, writeParsedCursor } from './parsed-cursor.ts';
export { collectArtifacts, type Artifact, type CollectLimits, type CollectResult, type SkippedEntry } from './collect-artifacts.ts';
export { openContainedFile, type ContainedOpen, type RefusalReason } from './contained-file.ts';
export { chooseSandbox, probeSandbox, probeBwrap, findBwrap, DEFAULT_SHM_BYTES, type SandboxChoice, type SandboxProbe, type BwrapProbe } from './sandbox.ts';
export { probeCgroup, type CgroupProbe } from './cgroup.ts';
export { FORCED_ENGINE_ENV } from './spec.ts';

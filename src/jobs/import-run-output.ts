/**
 * A run's model file into the library (DESIGN.md §3, §5): copied out of the run — from the shim's snapshot
 * (outside `work/`, so the engine could not change it after it was taken) or else from `work/` with realpath
 * containment, regular files only — into quarantine, then scanned, fingerprinted and stored like any import,
 * under `models/<kind>/run/<job-id>/<final|epoch-N|step-N>/` with the run as provenance. An output with
 * companions (FluxFlow's checkpoint and text encoder) enters as one entry whose main file the run names. A file
 * whose scan is not `safe`, or that is not the kind the run trains, is refused and never reaches `models/`.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { SecurityEvents } from '../access/security-events.ts';
import { LorasmithError } from '../core/errors.ts';
import type { Workspace } from '../core/workspace.ts';
import type { ModelKind } from '../formats/fingerprint/index.ts';
import { importModel, type ImportModelResult } from '../library/import-model.ts';
import { importModelSet } from '../library/import-model-set.ts';
import type { ModelLibrary } from '../library/model-library.ts';
import { openContainedFile } from './shim/contained-file.ts';

/** One file a run hands over. */
export interface RunOutputFile {
  /** The file to take, absolute: inside `root`. */
  file: string;
  /** The folder it must really be inside: the run's `work/` or its `snapshots/`. */
  root: string;
  /** The name it enters the library with (the engine's file name). */
  name: string;
}

export interface ImportRunOutputParams extends RunOutputFile {
  workspace: Workspace;
  library: ModelLibrary;
  securityEvents: SecurityEvents;
  jobId: string;
  /**
   * Files that go into the same entry beside the model file, which stays its main file whatever their size
   * (FluxFlow's text encoder is larger than its checkpoint). Each is scanned like the model file.
   */
  companions?: readonly RunOutputFile[];
  /** `final`, `epoch-N` or `step-N`. */
  rev: string;
  expectedKind?: ModelKind;
  provenance: Record<string, string | number | boolean | null>;
}

function notCollected(name: string, reason: string): LorasmithError {
  return new LorasmithError({
    code: 'output-refused',
    message: `The run's output ${name} was not taken: ${reason}.`,
    hint: 'A run may only hand over regular files inside its own work folder; the engine (or something in its sandbox) replaced the file.',
    exitCode: 1,
    status: 422,
  });
}

/** Copy one file out of the run into `target` (created, never replaced), or refuse it as a security event. */
async function takeOut(params: ImportRunOutputParams, output: RunOutputFile, target: string): Promise<void> {
  const root = await realpath(output.root);
  const opened = await openContainedFile(root, output.file);
  if ('refused' in opened) {
    await params.securityEvents.record('file-refused', `run ${params.jobId}: ${output.name} is ${opened.refused}`);
    throw notCollected(output.name, opened.refused === 'gone' ? 'it does not exist' : `it is ${opened.refused === 'outside' ? 'outside the run folder' : `a ${opened.refused}`}`);
  }
  try {
    const copy = await open(target, 'wx', 0o600);
    try {
      // The streams close both handles when done (a handle a live stream holds cannot be closed before).
      await pipeline(opened.handle.createReadStream(), copy.createWriteStream());
    } finally {
      await copy.close();
    }
  } finally {
    await opened.handle.close();
  }
}

export async function importRunOutput(params: ImportRunOutputParams): Promise<ImportModelResult> {
  const source = { type: 'run' as const, id: params.jobId, rev: params.rev, provenance: params.provenance };
  const expected = params.expectedKind === undefined ? {} : { expectedKind: params.expectedKind };
  const quarantine = params.workspace.paths.areas.quarantine;
  const companions = params.companions ?? [];
  if (companions.length === 0) {
    const staged = path.join(quarantine, `${randomUUID()}${path.extname(params.name)}`);
    try {
      await takeOut(params, params, staged);
    } catch (error) {
      await rm(staged, { force: true });
      throw error;
    }
    // importModel owns the staged copy from here: it moves it into models/ or deletes it.
    return importModel({ workspace: params.workspace, library: params.library, securityEvents: params.securityEvents, file: staged, name: params.name, source, ...expected });
  }
  const staging = path.join(quarantine, randomUUID());
  const files = [params, ...companions];
  try {
    await mkdir(staging, { mode: 0o700 });
    for (const output of files) await takeOut(params, output, path.join(staging, output.name));
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  // importModelSet owns the staging folder from here: it moves it into models/ or deletes it.
  return importModelSet({
    workspace: params.workspace,
    library: params.library,
    securityEvents: params.securityEvents,
    staging,
    files: files.map((output) => output.name),
    main: params.name,
    name: params.name,
    source,
    ...expected,
  });
}

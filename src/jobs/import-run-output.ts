/**
 * A run's model file into the library (DESIGN.md §3, §5): copied out of the run — from the shim's snapshot
 * (outside `work/`, so the engine could not change it after it was taken) or else from `work/` with realpath
 * containment, regular files only — into quarantine, then scanned, fingerprinted and stored like any import,
 * under `models/<kind>/run/<job-id>/<final|epoch-N|step-N>/` with the run as provenance. A file whose scan is
 * not `safe`, or that is not the kind the run trains, is refused and never reaches `models/`.
 */
import { randomUUID } from 'node:crypto';
import { open, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { SecurityEvents } from '../access/security-events.ts';
import { LorasmithError } from '../core/errors.ts';
import type { Workspace } from '../core/workspace.ts';
import type { ModelKind } from '../formats/fingerprint/index.ts';
import { importModel, type ImportModelResult } from '../library/import-model.ts';
import type { ModelLibrary } from '../library/model-library.ts';
import { openContainedFile } from './shim/contained-file.ts';

export interface ImportRunOutputParams {
  workspace: Workspace;
  library: ModelLibrary;
  securityEvents: SecurityEvents;
  jobId: string;
  /** The file to take, absolute: inside `root`. */
  file: string;
  /** The folder it must really be inside: the run's `work/` or its `snapshots/`. */
  root: string;
  /** The name it enters the library with (the engine's file name). */
  name: string;
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

export async function importRunOutput(params: ImportRunOutputParams): Promise<ImportModelResult> {
  const root = await realpath(params.root);
  const opened = await openContainedFile(root, params.file);
  if ('refused' in opened) {
    await params.securityEvents.record('file-refused', `run ${params.jobId}: ${params.name} is ${opened.refused}`);
    throw notCollected(params.name, opened.refused === 'gone' ? 'it does not exist' : `it is ${opened.refused === 'outside' ? 'outside the run folder' : `a ${opened.refused}`}`);
  }
  const staged = path.join(params.workspace.paths.areas.quarantine, `${randomUUID()}${path.extname(params.name)}`);
  try {
    const target = await open(staged, 'wx', 0o600);
    try {
      // The streams close both handles when done (a handle a live stream holds cannot be closed before).
      await pipeline(opened.handle.createReadStream(), target.createWriteStream());
    } finally {
      await target.close();
    }
  } catch (error) {
    await rm(staged, { force: true });
    throw error;
  } finally {
    await opened.handle.close();
  }
  // importModel owns the staged copy from here: it moves it into models/ or deletes it.
  return importModel({
    workspace: params.workspace,
    library: params.library,
    securityEvents: params.securityEvents,
    file: staged,
    name: params.name,
    source: { type: 'run', id: params.jobId, rev: params.rev, provenance: params.provenance },
    ...(params.expectedKind === undefined ? {} : { expectedKind: params.expectedKind }),
  });
}

/**
 * The library's repository: records in SQLite, files under `models/<kind>/<source>/<id>/<rev>/<name>`.
 * Paths are stored relative to `models/` and resolved through the workspace's resolver on the way out.
 * `rel_path` names the entry's main file; a multi-file entry's other files share its folder, listed in
 * `files` by their path relative to that folder.
 */
import type { Selectable } from 'kysely';
import { realpath, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../core/db/open-database.ts';
import type { ModelsTable } from '../core/db/schema.ts';
import { LorasmithError, errnoCode } from '../core/errors.ts';
import type { Workspace } from '../core/workspace.ts';
import type { FamilyVariant, ModelFamily, ModelKind, PredictionType } from '../formats/fingerprint/index.ts';
import type { CivitaiIdentification, ModelFileEntry, ModelLora, ModelRecord, ModelSource } from './model-record.ts';

/** A one-file entry recorded before migration 4 lists no files: its file is `rel_path`'s last segment. */
function filesOf(row: Selectable<ModelsTable>): ModelFileEntry[] {
  if (row.files !== null) return JSON.parse(row.files) as ModelFileEntry[];
  return [{ path: row.rel_path.slice(row.rel_path.lastIndexOf('/') + 1), size: row.size, sha256: row.sha256, main: true }];
}

/** The entry's folder relative to `models/`: `rel_path` without the main file's own relative path. */
function folderOfRow(row: Selectable<ModelsTable>): string {
  const main = filesOf(row).find((file) => file.main)?.path ?? row.rel_path.slice(row.rel_path.lastIndexOf('/') + 1);
  if (!row.rel_path.endsWith(`/${main}`)) throw new Error(`model ${row.id}: its main file is not at the end of its path`);
  return row.rel_path.slice(0, -(main.length + 1));
}

function toRecord(row: Selectable<ModelsTable>): ModelRecord {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as ModelKind,
    family: row.family as ModelFamily,
    variant: row.variant as FamilyVariant | null,
    predictionType: row.prediction_type as PredictionType,
    format: row.format as ModelRecord['format'],
    verdict: 'safe',
    warnings: JSON.parse(row.warnings) as string[],
    size: row.size,
    tensorCount: row.tensor_count,
    parameterCount: row.parameter_count,
    hashes: { sha256: row.sha256, autoV2: row.autov2, autoV1: row.autov1, sshsModelHash: row.sshs_model_hash },
    lora: row.lora === null ? null : (JSON.parse(row.lora) as ModelLora),
    source: JSON.parse(row.source) as ModelSource,
    evidence: JSON.parse(row.evidence) as string[],
    createdAt: row.created_at,
    files: filesOf(row),
    civitai: row.civitai === null ? null : (JSON.parse(row.civitai) as CivitaiIdentification),
  };
}

export function modelNotFound(id: string): LorasmithError {
  return new LorasmithError({
    code: 'model-not-found',
    message: `There is no model ${JSON.stringify(id)} in the library.`,
    hint: 'List the library with `lorasmith models list`.',
    status: 404,
  });
}

export class ModelLibrary {
  readonly #db: Db;
  readonly #workspace: Workspace;

  constructor(params: { db: Db; workspace: Workspace }) {
    this.#db = params.db;
    this.#workspace = params.workspace;
  }

  async list(): Promise<ModelRecord[]> {
    const rows = await this.#db.selectFrom('models').selectAll().orderBy('created_at', 'desc').execute();
    return rows.map(toRecord);
  }

  async get(id: string): Promise<ModelRecord> {
    return toRecord(await this.#row(id));
  }

  async findBySha256(sha256: string): Promise<ModelRecord | null> {
    const row = await this.#db.selectFrom('models').selectAll().where('sha256', '=', sha256).executeTakeFirst();
    return row === undefined ? null : toRecord(row);
  }

  /** The record whose file this is, when an absolute path points into `models/`. */
  async findByPath(absolute: string): Promise<ModelRecord | null> {
    const relative = path.relative(this.#workspace.paths.areas.models, absolute);
    if (relative.startsWith('..') || path.isAbsolute(relative)) return null;
    const row = await this.#db.selectFrom('models').selectAll().where('rel_path', '=', relative.split(path.sep).join('/')).executeTakeFirst();
    return row === undefined ? null : toRecord(row);
  }

  /** Where a record's main file lives (resolved inside `models/`, symlinks contained). */
  async fileOf(id: string): Promise<string> {
    return this.#workspace.resolve('models', (await this.#row(id)).rel_path);
  }

  /** The entry's folder: a tagger's or a diffusers pipeline's files are found relative to it. */
  async folderOf(id: string): Promise<string> {
    return this.#workspace.resolve('models', folderOfRow(await this.#row(id)));
  }

  async insert(record: ModelRecord, relPath: string): Promise<ModelRecord> {
    await this.#db
      .insertInto('models')
      .values({
        id: record.id,
        name: record.name,
        kind: record.kind,
        family: record.family,
        variant: record.variant,
        prediction_type: record.predictionType,
        format: record.format,
        size: record.size,
        sha256: record.hashes.sha256,
        autov2: record.hashes.autoV2,
        autov1: record.hashes.autoV1,
        sshs_model_hash: record.hashes.sshsModelHash,
        rel_path: relPath,
        source: JSON.stringify(record.source),
        lora: record.lora === null ? null : JSON.stringify(record.lora),
        evidence: JSON.stringify(record.evidence),
        warnings: JSON.stringify(record.warnings),
        tensor_count: record.tensorCount,
        parameter_count: record.parameterCount,
        created_at: record.createdAt,
        files: JSON.stringify(record.files),
        civitai: record.civitai === null ? null : JSON.stringify(record.civitai),
      })
      .execute();
    return record;
  }

  /** Record what Civitai said about the entry's main file (`models identify`). */
  async setCivitai(id: string, identification: CivitaiIdentification): Promise<ModelRecord> {
    const result = await this.#db.updateTable('models').set({ civitai: JSON.stringify(identification) }).where('id', '=', id).executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw modelNotFound(id);
    return this.get(id);
  }

  /**
   * Remove the record and its own files, then the folders they leave empty. Only the entry's files go:
   * another entry pulled from the same commit may share the folder.
   */
  async remove(id: string): Promise<void> {
    const row = await this.#row(id);
    const folder = folderOfRow(row);
    const files = await Promise.all(filesOf(row).map((file) => this.#workspace.resolve('models', `${folder}/${file.path}`)));
    await this.#db.deleteFrom('models').where('id', '=', id).execute();
    // The resolver answers under the real path of models/; the walk up stops there.
    const root = await realpath(this.#workspace.paths.areas.models);
    const dirs = new Set<string>();
    for (const file of files) {
      await rm(file, { force: true });
      for (let dir = path.dirname(file); dir.startsWith(`${root}${path.sep}`); dir = path.dirname(dir)) dirs.add(dir);
    }
    // Deepest first, so a folder is tried after its subfolders; a folder still holding files stays.
    for (const dir of [...dirs].sort((a, b) => b.length - a.length)) {
      await rmdir(dir).catch((error: unknown) => {
        if (errnoCode(error) !== 'ENOTEMPTY' && errnoCode(error) !== 'EEXIST' && errnoCode(error) !== 'ENOENT') throw error;
      });
    }
  }

  async #row(id: string): Promise<Selectable<ModelsTable>> {
    const row = await this.#db.selectFrom('models').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw modelNotFound(id);
    return row;
  }
}

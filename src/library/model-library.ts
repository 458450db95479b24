/**
 * The library's repository: records in SQLite, files under `models/<kind>/<source>/<id>/<rev>/<name>`.
 * Paths are stored relative to `models/` and resolved through the workspace's resolver on the way out.
 */
import type { Selectable } from 'kysely';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../core/db/open-database.ts';
import type { ModelsTable } from '../core/db/schema.ts';
import { LorasmithError } from '../core/errors.ts';
import type { Workspace } from '../core/workspace.ts';
import type { FamilyVariant, ModelFamily, ModelKind, PredictionType } from '../formats/fingerprint/index.ts';
import type { ModelLora, ModelRecord, ModelSource } from './model-record.ts';

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
    const row = await this.#db.selectFrom('models').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw modelNotFound(id);
    return toRecord(row);
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

  /** Where a record's file lives (resolved inside `models/`, symlinks contained). */
  async fileOf(id: string): Promise<string> {
    const row = await this.#db.selectFrom('models').select('rel_path').where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw modelNotFound(id);
    return this.#workspace.resolve('models', row.rel_path);
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
      })
      .execute();
    return record;
  }

  /** Remove the record and its file (and the entry's folder, now empty). */
  async remove(id: string): Promise<void> {
    const file = await this.fileOf(id);
    await this.#db.deleteFrom('models').where('id', '=', id).execute();
    await rm(path.dirname(file), { recursive: true, force: true });
  }
}

/**
 * `lorasmith models`: the library. `import` takes a file (a task: scan, convert, fingerprint, hash,
 * store) or a folder (one entry for all its files: a diffusers pipeline, a WD14 tagger, sharded weights);
 * `identify` asks Civitai about a file by SHA-256 and, for a library entry, keeps the answer on its record.
 */
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, realpath, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ExitCode } from '../../core/errors.ts';
import { LorasmithError, isLorasmithError } from '../../core/errors.ts';
import { hashModelFile } from '../../formats/fingerprint/index.ts';
import { identifyLibraryModel, identifyOnCivitai } from '../../hub/identify.ts';
import { sanitizeFileName } from '../../core/file-names.ts';
import type { ImportModelResult } from '../../library/import-model.ts';
import { importModelSet, MAX_SET_FILES } from '../../library/import-model-set.ts';
import type { CivitaiIdentification, ModelRecord } from '../../library/model-record.ts';
import { modelImportParamsSchema } from '../../library/model-import-task.ts';
import type { Studio } from '../../studio/studio.ts';
import { followTask } from '../follow-task.ts';
import { usageError, writeJson, writeLine, type CliIO } from '../io.ts';
import { withLocalStudio } from '../local-studio.ts';
import { connectStudio } from '../studio-client.ts';
import { flag, option, parseVerbArgs, type Verb } from '../verb.ts';
import { verbHubContext, type HubVerbOptions } from './search.ts';

function mib(bytes: number | null): string {
  return bytes === null ? '? MiB' : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

function describe(io: CliIO, model: ModelRecord): void {
  const lora = model.lora ? `  rank ${model.lora.rank ?? 'varies'} alpha ${model.lora.alpha ?? '?'}` : '';
  const files = model.files.length > 1 ? `  ${model.files.length} files` : '';
  writeLine(io, `${model.id}  ${model.kind.padEnd(12)} ${model.family.padEnd(8)} ${model.name}  ${mib(model.size)}${files}${lora}`);
}

function licenseText(license: NonNullable<CivitaiIdentification['license']>): string {
  const yes = (value: boolean | null, text: string): string | null => (value === true ? text : null);
  const parts = [
    license.allowCommercialUse.length === 0 ? 'no commercial use' : `commercial use: ${license.allowCommercialUse.join(', ')}`,
    license.allowNoCredit === false ? 'credit the creator' : yes(license.allowNoCredit, 'no credit needed'),
    license.allowDerivatives === false ? 'no derivatives' : yes(license.allowDerivatives, 'derivatives allowed'),
    yes(license.allowDifferentLicense, 'derivatives may change the licence'),
  ];
  return parts.filter((part) => part !== null).join('; ');
}

function printIdentification(io: CliIO, found: CivitaiIdentification, indent = ''): void {
  if (!found.found) {
    writeLine(io, `${indent}Civitai knows no file with SHA-256 ${found.sha256}.`);
    return;
  }
  writeLine(io, `${indent}${found.modelName ?? '?'} — ${found.versionName ?? '?'} (${found.modelType ?? 'model'}, base ${found.baseModel ?? 'unknown'})`);
  if (found.trainedWords.length > 0) writeLine(io, `${indent}  trigger words: ${found.trainedWords.join(', ')}`);
  if (found.license !== null) writeLine(io, `${indent}  licence: ${licenseText(found.license)}`);
  if (found.url !== null) writeLine(io, `${indent}  ${found.url}`);
}

function show(io: CliIO, model: ModelRecord): void {
  describe(io, model);
  writeLine(io, `  sha256 ${model.hashes.sha256}  autov2 ${model.hashes.autoV2}${model.hashes.sshsModelHash ? `  sshs ${model.hashes.sshsModelHash}` : ''}`);
  writeLine(io, `  ${model.format}, ${model.tensorCount} tensors, ${model.parameterCount.toLocaleString('en')} parameters, prediction ${model.predictionType}`);
  if (model.source.converted) writeLine(io, `  converted from ${model.source.converted.from} ${model.source.converted.originalName} (sha256 ${model.source.converted.originalSha256})`);
  const provenance = Object.entries(model.source.provenance ?? {}).filter(([, value]) => value !== null && value !== '');
  if (provenance.length > 0) writeLine(io, `  from ${model.source.type}: ${provenance.map(([key, value]) => `${key}=${String(value)}`).join('  ')}`);
  if (model.files.length > 1) {
    writeLine(io, `  files (${model.files.length}):`);
    for (const file of model.files) writeLine(io, `    ${file.path}  ${mib(file.size)}${file.main ? '  (main)' : ''}`);
  }
  if (model.civitai !== null) {
    writeLine(io, `  Civitai (checked ${model.civitai.checkedAt}):`);
    printIdentification(io, model.civitai, '    ');
  }
  for (const warning of model.warnings) writeLine(io, `  warning: ${warning}`);
}

/**
 * A folder's regular files, copied into staging with their relative paths (a reflink where the file
 * system can). Dot-entries (`.git`, `.cache`) are left out; links are followed, as for one file.
 */
async function copyFolder(source: string, staging: string): Promise<string[]> {
  const files: string[] = [];
  const entries = await readdir(source, { recursive: true });
  for (const entry of entries.sort()) {
    const segments = entry.split(path.sep);
    if (segments.some((segment) => segment.startsWith('.'))) continue;
    const from = path.join(source, entry);
    if (!(await stat(from)).isFile()) continue;
    if (files.length >= MAX_SET_FILES) throw new LorasmithError({ code: 'too-many-files', message: `${source} holds more than ${MAX_SET_FILES} files.`, hint: 'Import the model folder itself, not a folder of many models.', exitCode: 2 });
    const relative = segments.map((segment) => sanitizeFileName(segment)).join('/');
    await mkdir(path.dirname(path.join(staging, relative)), { recursive: true, mode: 0o700 });
    await copyFile(from, path.join(staging, relative), constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL);
    files.push(relative);
  }
  if (files.length === 0) throw new LorasmithError({ code: 'not-found', message: `${source} holds no file.`, hint: 'Give a model file, or a folder holding one model.', exitCode: 2 });
  return files;
}

/** `identify FILE|ID` in this process: an ID (or a path into models/) updates the record; any other file is only looked up. */
async function identifyHere(studio: Studio, io: CliIO, options: HubVerbOptions, target: string): Promise<CivitaiIdentification> {
  const onDisk = await realpath(target).catch(() => null);
  const record = onDisk === null ? await studio.library.get(target) : await studio.library.findByPath(onDisk);
  const hub = await verbHubContext(studio, io, options);
  if (record !== null) return (await identifyLibraryModel({ hub, library: studio.library, id: record.id })).civitai as CivitaiIdentification;
  return identifyOnCivitai(hub, (await hashModelFile({ path: target })).sha256);
}

export type ModelsVerbOptions = HubVerbOptions;

export function createModelsVerb(options: ModelsVerbOptions = {}): Verb {
  return {
    name: 'models',
    help: `lorasmith models list | show ID | import PATH [--kind K] [--keep-original] | identify FILE|ID | rm ID [--json]

  list            every model in the library
  show ID         one record: hashes, fingerprint, provenance, files, what Civitai said
  import PATH     copy a local file into quarantine, scan it, convert a safe .ckpt/.pt to safetensors,
                  fingerprint, hash and add it to the library; an unsafe / invalid / unsupported file is
                  refused (exit 1) and nothing enters models/. --kind checks the detected kind (never
                  overrides it); --keep-original keeps a converted checkpoint's original in quarantine.
                  A folder becomes ONE entry holding all its files (dot-files left out): a diffusers
                  pipeline (model_index.json), a WD14 tagger (model.onnx + selected_tags.csv), sharded
                  weights; every weight file is scanned, and one refused file refuses the folder.
  identify FILE|ID
                  look the file up on Civitai by SHA-256: model, version, base model, trigger words and
                  licence. For a library entry (its ID, or a path into models/) the answer is kept on
                  the record; for any other file it is only printed. Exit 1 when Civitai does not know it.
  rm ID           remove a model and its files

--json: list → {"models":[record]}; show → record; import → JSON Lines ({"type":"progress",…}) then
{"type":"summary","task":{…,"result":{"model":record,"duplicate":bool}}} (a folder: {"type":"summary",
"result":{"model","duplicate"}}); identify → {"found","sha256","checkedAt","modelId","versionId","modelName",
"versionName","modelType","baseModel","trainedWords","license":{"allowCommercialUse","allowNoCredit",
"allowDerivatives","allowDifferentLicense"}|null,"url"}; rm → {"removed":ID}.
A record: {"id","name","kind","family","variant","predictionType","format","verdict","warnings","size",
"tensorCount","parameterCount","hashes":{"sha256","autoV2","autoV1","sshsModelHash"},"lora","source","evidence","createdAt",
"files":[{"path","size","sha256","main"}],"civitai":identify|null}`,
    async run(args, io) {
      const { values, positionals } = parseVerbArgs('models', args, { kind: { type: 'string' }, 'keep-original': { type: 'boolean', default: false } });
      const json = flag(values, 'json');
      const [action, target, ...rest] = positionals;
      if (rest.length > 0) throw usageError('Too many arguments.', 'See `lorasmith models --help`.');

      const identified = (found: CivitaiIdentification): ExitCode => {
        if (json) writeJson(io, found);
        else printIdentification(io, found);
        return found.found ? 0 : 1;
      };
      if (action === 'identify') {
        if (target === undefined) throw usageError('`models identify` needs a FILE or a library ID.', 'Example: lorasmith models identify ~/Downloads/lora.safetensors');
        // A library ID goes through the running studio, which keeps the answer on the record.
        const client = (await stat(target).catch(() => null)) === null ? await connectStudio(io.env) : null;
        if (client !== null) return identified((await client.request<ModelRecord>('POST', `/api/models/${encodeURIComponent(target)}/identify`, {})).civitai as CivitaiIdentification);
      }

      return withLocalStudio<ExitCode>(io.env, async (studio) => {
        switch (action) {
          case 'list': {
            const models = await studio.library.list();
            if (json) writeJson(io, { models });
            else if (models.length === 0) writeLine(io, 'The library is empty. Add a file with `lorasmith models import PATH`.');
            else for (const model of models) describe(io, model);
            return 0;
          }
          case 'show': {
            if (target === undefined) throw usageError('`models show` needs an ID.', 'See the IDs with `lorasmith models list`.');
            const model = await studio.library.get(target);
            if (json) writeJson(io, model);
            else show(io, model);
            return 0;
          }
          case 'import': {
            if (target === undefined) throw usageError('`models import` needs a PATH.', 'Example: lorasmith models import ~/Downloads/model.safetensors');
            const info = await stat(target).catch(() => null);
            if (info === null) throw new LorasmithError({ code: 'not-found', message: `${target} does not exist.`, hint: 'Give the path of a model file, or of a model folder.', exitCode: 2 });
            const staging = path.join(studio.workspace.paths.areas.quarantine, 'imports', randomUUID());
            await mkdir(staging, { recursive: true, mode: 0o700 });
            if (info.isDirectory()) {
              let result: ImportModelResult;
              try {
                const files = await copyFolder(target, staging);
                const kind = option(values, 'kind');
                const checked = kind === undefined ? undefined : modelImportParamsSchema.shape.expectedKind.safeParse(kind);
                if (checked !== undefined && !checked.success) throw usageError('--kind must be one of checkpoint, lora, vae, text-encoder, embedding, tagger, other.', 'See `lorasmith models --help`.');
                result = await importModelSet({
                  workspace: studio.workspace,
                  library: studio.library,
                  securityEvents: studio.securityEvents,
                  staging,
                  files,
                  name: path.basename(path.resolve(target)),
                  source: { type: 'local' },
                  ...(checked?.data === undefined ? {} : { expectedKind: checked.data }),
                });
              } finally {
                await rm(staging, { recursive: true, force: true });
              }
              if (json) writeJson(io, { type: 'summary', result });
              else {
                writeLine(io, result.duplicate ? 'Already in the library:' : 'Added to the library:');
                show(io, result.model);
              }
              return 0;
            }
            const name = sanitizeFileName(path.basename(target));
            const kind = option(values, 'kind');
            const copy = path.join(staging, name);
            const params = modelImportParamsSchema.safeParse({ file: copy, name, source: 'local', ...(kind === undefined ? {} : { expectedKind: kind }), keepOriginal: flag(values, 'keep-original') });
            if (!params.success) {
              await rm(staging, { recursive: true, force: true });
              throw usageError(`--kind must be one of checkpoint, lora, vae, text-encoder, embedding, tagger, other.`, 'See `lorasmith models --help`.');
            }
            // The operator's file is copied (a reflink where the filesystem can), never hardlinked or moved.
            await copyFile(target, copy, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL);
            const task = await studio.tasks.start('model-import', params.data);
            const code = await followTask({ io, json, source: { kind: 'local', tasks: studio.tasks }, id: task.id, label: `import ${name}` });
            // The import moved or deleted the copy; the staging folder goes too, unless it keeps the original.
            if (!params.data.keepOriginal) await rm(staging, { recursive: true, force: true });
            const done = await studio.tasks.get(task.id);
            if (!json && done.state === 'succeeded') {
              const result = done.result as ImportModelResult;
              writeLine(io, result.duplicate ? 'Already in the library:' : 'Added to the library:');
              show(io, result.model);
            }
            return code;
          }
          case 'identify': {
            try {
              return identified(await identifyHere(studio, io, options, target ?? ''));
            } catch (error) {
              if (isLorasmithError(error) && error.code === 'model-not-found') {
                throw new LorasmithError({ code: 'not-found', message: `${target ?? ''} is neither a file nor a library ID.`, hint: 'Give a model file, or an ID from `lorasmith models list`.', exitCode: 2 });
              }
              throw error;
            }
          }
          case 'rm': {
            if (target === undefined) throw usageError('`models rm` needs an ID.', 'See the IDs with `lorasmith models list`.');
            await studio.library.remove(target);
            if (json) writeJson(io, { removed: target });
            else writeLine(io, `Removed ${target}.`);
            return 0;
          }
          default:
            throw usageError(action === undefined ? '`models` needs an action.' : `Unknown models action ${JSON.stringify(action)}.`, 'Use list, show ID, import PATH, identify FILE|ID or rm ID.');
        }
      });
    },
  };
}

export const modelsVerb: Verb = createModelsVerb();

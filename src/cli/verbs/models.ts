import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ExitCode } from '../../core/errors.ts';
import { LorasmithError, errnoCode } from '../../core/errors.ts';
import { MODEL_FILE, TAGS_FILE } from '../../datasets/tagging/load-tagger.ts';
import { importTagger } from '../../library/import-tagger.ts';
import { hashModelFile } from '../../formats/fingerprint/index.ts';
import { identifyOnCivitai } from '../../hub/identify.ts';
import { sanitizeFileName } from '../../core/file-names.ts';
import type { ImportModelResult } from '../../library/import-model.ts';
import type { ModelRecord } from '../../library/model-record.ts';
import { modelImportParamsSchema } from '../../library/model-import-task.ts';
import { followTask } from '../follow-task.ts';
import { usageError, writeJson, writeLine, type CliIO } from '../io.ts';
import { withLocalStudio } from '../local-studio.ts';
import { flag, option, parseVerbArgs, type Verb } from '../verb.ts';

function describe(io: CliIO, model: ModelRecord): void {
  const lora = model.lora ? `  rank ${model.lora.rank ?? 'varies'} alpha ${model.lora.alpha ?? '?'}` : '';
  writeLine(io, `${model.id}  ${model.kind.padEnd(12)} ${model.family.padEnd(8)} ${model.name}  ${(model.size / 1024 ** 2).toFixed(1)} MiB${lora}`);
}

function show(io: CliIO, model: ModelRecord): void {
  describe(io, model);
  writeLine(io, `  sha256 ${model.hashes.sha256}  autov2 ${model.hashes.autoV2}${model.hashes.sshsModelHash ? `  sshs ${model.hashes.sshsModelHash}` : ''}`);
  writeLine(io, `  ${model.format}, ${model.tensorCount} tensors, ${model.parameterCount.toLocaleString('en')} parameters, prediction ${model.predictionType}`);
  if (model.source.converted) writeLine(io, `  converted from ${model.source.converted.from} ${model.source.converted.originalName} (sha256 ${model.source.converted.originalSha256})`);
  for (const warning of model.warnings) writeLine(io, `  warning: ${warning}`);
}

export const modelsVerb: Verb = {
  name: 'models',
  summary: 'the model library (list | show ID | import PATH | identify FILE | rm ID)',
  help: `lorasmith models list | show ID | import PATH [--kind K] [--keep-original] | rm ID [--json]

  list            every model in the library
  show ID         one record: hashes, fingerprint, provenance
  import PATH     copy a local file into quarantine, scan it, convert a safe .ckpt/.pt to safetensors,
                  fingerprint, hash and add it to the library; an unsafe / invalid / unsupported file is
                  refused (exit 1) and nothing enters models/. --kind checks the detected kind (never
                  overrides it); --keep-original keeps a converted checkpoint's original in quarantine.
                  A folder holding model.onnx + selected_tags.csv is imported as a WD14 tagger.
  identify FILE|ID
                  look the file up on Civitai by SHA-256: model, version, base model, trigger words
                  (information only; exit 1 when Civitai does not know it)
  rm ID           remove a model and its file

--json: list → {"models":[record]}; show → record; import → JSON Lines ({"type":"progress",…}) then
{"type":"summary","task":{…,"result":{"model":record,"duplicate":bool}}}; rm → {"removed":ID}.
A record: {"id","name","kind","family","variant","predictionType","format","verdict","warnings","size",
"tensorCount","parameterCount","hashes":{"sha256","autoV2","autoV1","sshsModelHash"},"lora","source","evidence","createdAt"}`,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('models', args, { kind: { type: 'string' }, 'keep-original': { type: 'boolean', default: false } });
    const json = flag(values, 'json');
    const [action, target, ...rest] = positionals;
    if (rest.length > 0) throw usageError('Too many arguments.', 'See `lorasmith models --help`.');
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
          if (info === null) throw new LorasmithError({ code: 'not-found', message: `${target} does not exist.`, hint: 'Give the path of a model file, or of a tagger folder.', exitCode: 2 });
          if (info.isDirectory()) {
            // A folder is a WD14 tagger: model.onnx and selected_tags.csv, copied into quarantine first.
            const staging = path.join(studio.workspace.paths.areas.quarantine, 'imports', randomUUID());
            await mkdir(staging, { recursive: true, mode: 0o700 });
            for (const file of [MODEL_FILE, TAGS_FILE]) {
              await copyFile(path.join(target, file), path.join(staging, file), constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL).catch(async (error: unknown) => {
                await rm(staging, { recursive: true, force: true });
                throw new LorasmithError({ code: 'not-a-tagger', message: `${target} has no readable ${file} (${errnoCode(error) ?? 'error'}).`, hint: `A folder is imported as a WD14 tagger: ${MODEL_FILE} and ${TAGS_FILE}.`, exitCode: 2 });
              });
            }
            const result = await importTagger({ workspace: studio.workspace, library: studio.library, securityEvents: studio.securityEvents, staging, name: path.basename(path.resolve(target)), source: 'local' });
            if (json) writeJson(io, { type: 'summary', result });
            else {
              writeLine(io, result.duplicate ? 'Already in the library:' : 'Added to the library:');
              show(io, result.model);
            }
            return 0;
          }
          const name = sanitizeFileName(path.basename(target));
          const kind = option(values, 'kind');
          const staging = path.join(studio.workspace.paths.areas.quarantine, 'imports', randomUUID());
          const copy = path.join(staging, name);
          const params = modelImportParamsSchema.safeParse({ file: copy, name, source: 'local', ...(kind === undefined ? {} : { expectedKind: kind }), keepOriginal: flag(values, 'keep-original') });
          if (!params.success) throw usageError(`--kind must be one of checkpoint, lora, vae, text-encoder, embedding, tagger, other.`, 'See `lorasmith models --help`.');
          // The operator's file is copied (a reflink where the filesystem can), never hardlinked or moved.
          await mkdir(staging, { recursive: true, mode: 0o700 });
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
          if (target === undefined) throw usageError('`models identify` needs a FILE or a library ID.', 'Example: lorasmith models identify ~/Downloads/lora.safetensors');
          const fromLibrary = await studio.library.get(target).catch(() => null);
          const sha256 = fromLibrary?.hashes.sha256 ?? (await hashModelFile({ path: target })).sha256;
          const found = await identifyOnCivitai(await studio.hubContext(), sha256);
          if (json) writeJson(io, found);
          else if (!found.found) writeLine(io, `Civitai knows no file with SHA-256 ${sha256}.`);
          else {
            writeLine(io, `${found.modelName ?? '?'} — ${found.versionName ?? '?'} (${found.modelType ?? 'model'}, base ${found.baseModel ?? 'unknown'})`);
            if (found.trainedWords?.length) writeLine(io, `  trigger words: ${found.trainedWords.join(', ')}`);
            writeLine(io, `  ${found.url}`);
          }
          return found.found ? 0 : 1;
        }
        case 'rm': {
          if (target === undefined) throw usageError('`models rm` needs an ID.', 'See the IDs with `lorasmith models list`.');
          await studio.library.remove(target);
          if (json) writeJson(io, { removed: target });
          else writeLine(io, `Removed ${target}.`);
          return 0;
        }
        default:
          throw usageError(action === undefined ? '`models` needs an action.' : `Unknown models action ${JSON.stringify(action)}.`, 'Use list, show ID, import PATH or rm ID.');
      }
    });
  },
};

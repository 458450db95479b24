import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { CaptionEdit } from '../../datasets/captions/index.ts';
import type { ImportReport } from '../../datasets/import/index.ts';
import type { ExitCode } from '../../core/errors.ts';
import { LorasmithError } from '../../core/errors.ts';
import { startDatasetTagging, taggingRequestSchema } from '../../studio/start-dataset-tagging.ts';
import { followTask } from '../follow-task.ts';
import { usageError, writeJson, writeLine, type CliIO } from '../io.ts';
import { withLocalStudio } from '../local-studio.ts';
import { flag, option, parseVerbArgs, type Verb } from '../verb.ts';

const HELP = `lorasmith dataset <action> ... [--json]

  create NAME                       an empty dataset (datasets/NAME)
  import SOURCE [--name NAME]       a zip or a folder (kohya N_class folders become subsets with repeats
                                    and class tokens); unsafe archives are refused whole, junk is skipped
                                    and reported
  list | show NAME | rename NAME NEW | rm NAME
  captions-import NAME LIST.csv|LIST.jsonl [--subset S]
                                    captions from a list: CSV rows file,caption or JSONL {"file","text"}
  caption NAME SUBSET/FILE [--set TEXT]
                                    show one image's caption, or set it (undoable)
  bulk NAME OP ... [--subset S] [--apply]
                                    preview (default) or apply a bulk caption edit; OP is one of
                                    add-trigger WORD | remove-tags T1,T2 | replace FIND REPLACEMENT
                                    [--regex] [--target tags] | dedupe | sort [--keep N]
  undo NAME [ID]                    restore the captions of the last (or the given) edit exactly
  tags NAME [--subset S]            tag frequency table
  lint NAME --resolution R [--trigger WORD]
                                    duplicates, near-duplicates, small images, aspect ratios, captions
  tag NAME --model ID [--subset S] [--mode skip|append|overwrite] [--general 0.35] [--character 0.85]
         [--exclude T1,T2] [--trigger WORD]
                                    auto-tag with a WD14 tagger from the library (one undoable edit)
  steps NAME --resolution R [--batch-size B] [--grad-accum G] [--epochs E | --max-steps S]
         [--no-bucket] [--no-upscale] [--min-bucket N] [--max-bucket N] [--bucket-steps N]
                                    buckets and kohya's step arithmetic for this dataset

--json prints the domain objects (dataset summaries, import report, caption changes, lint findings, plan).`;

function int(values: Record<string, unknown>, name: string, fallback: number): number {
  const text = option(values, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw usageError(`--${name} must be a whole number, not ${JSON.stringify(text)}.`, 'See `lorasmith dataset --help`.');
  return value;
}

function parseEdit(op: string | undefined, args: string[], values: Record<string, unknown>): CaptionEdit {
  switch (op) {
    case 'add-trigger':
      if (args[0] === undefined) throw usageError('add-trigger needs a WORD.', 'Example: lorasmith dataset bulk cats add-trigger ohwx');
      return { op, trigger: args[0] };
    case 'remove-tags':
      if (args[0] === undefined) throw usageError('remove-tags needs tags, comma-separated.', 'Example: lorasmith dataset bulk cats remove-tags "watermark, signature"');
      return { op, tags: args[0].split(',').map((t) => t.trim()).filter((t) => t !== '') };
    case 'replace':
      if (args[0] === undefined || args[1] === undefined) throw usageError('replace needs FIND and REPLACEMENT.', 'Example: lorasmith dataset bulk cats replace "1girl" "solo girl"');
      return { op, find: args[0], replacement: args[1], regex: flag(values, 'regex'), target: option(values, 'target') === 'tags' ? 'tags' : 'text' };
    case 'dedupe':
      return { op };
    case 'sort':
      return { op, keepTokens: int(values, 'keep', 0) };
    default:
      throw usageError(`Unknown bulk operation ${JSON.stringify(op ?? '')}.`, 'Use add-trigger, remove-tags, replace, dedupe or sort.');
  }
}

function printReport(io: CliIO, report: ImportReport): void {
  writeLine(io, `Dataset ${report.dataset}: ${report.images.length} images in ${report.subsets.length} subset(s).`);
  for (const subset of report.subsets) writeLine(io, `  ${subset.name}: ${subset.imageCount} images, repeats ${subset.repeats}${subset.classTokens ? `, class "${subset.classTokens}"` : ''}`);
  if (report.skipped.length > 0) writeLine(io, `Skipped ${report.skipped.length}:`);
  for (const skipped of report.skipped) writeLine(io, `  ${skipped.path}: ${skipped.reason}`);
}

export const datasetVerb: Verb = {
  name: 'dataset',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('dataset', args, {
      name: { type: 'string' },
      set: { type: 'string' },
      subset: { type: 'string' },
      apply: { type: 'boolean', default: false },
      regex: { type: 'boolean', default: false },
      target: { type: 'string' },
      keep: { type: 'string' },
      resolution: { type: 'string' },
      trigger: { type: 'string' },
      'batch-size': { type: 'string' },
      'grad-accum': { type: 'string' },
      epochs: { type: 'string' },
      'max-steps': { type: 'string' },
      'no-bucket': { type: 'boolean', default: false },
      'no-upscale': { type: 'boolean', default: false },
      'min-bucket': { type: 'string' },
      'max-bucket': { type: 'string' },
      'bucket-steps': { type: 'string' },
      model: { type: 'string' },
      mode: { type: 'string' },
      general: { type: 'string' },
      character: { type: 'string' },
      exclude: { type: 'string' },
    });
    const json = flag(values, 'json');
    const [action, name, ...rest] = positionals;
    const out = (value: unknown, human: () => void): ExitCode => {
      if (json) writeJson(io, value);
      else human();
      return 0;
    };
    const need = (value: string | undefined, what: string): string => {
      if (value === undefined) throw usageError(`\`dataset ${action}\` needs ${what}.`, 'See `lorasmith dataset --help`.');
      return value;
    };
    return withLocalStudio<ExitCode>(io.env, async (studio) => {
      const { datasets } = studio;
      const subset = option(values, 'subset');
      const resolution = () => {
        const value = int(values, 'resolution', 0);
        if (value < 64) throw usageError('--resolution is required (e.g. 512, 1024).', 'See `lorasmith dataset --help`.');
        return value;
      };
      const planParams = () => {
        const res = resolution();
        const epochs = option(values, 'epochs');
        const maxSteps = option(values, 'max-steps');
        return {
          resolution: res,
          enableBucket: !flag(values, 'no-bucket'),
          minBucketReso: int(values, 'min-bucket', 256),
          maxBucketReso: int(values, 'max-bucket', Math.max(1024, res)),
          bucketResoSteps: int(values, 'bucket-steps', 64),
          bucketNoUpscale: flag(values, 'no-upscale'),
          batchSize: int(values, 'batch-size', 1),
          gradientAccumulationSteps: int(values, 'grad-accum', 1),
          ...(epochs === undefined ? {} : { maxTrainEpochs: int(values, 'epochs', 1) }),
          ...(maxSteps === undefined ? {} : { maxTrainSteps: int(values, 'max-steps', 1600) }),
        };
      };
      switch (action) {
        case 'create': {
          const created = await datasets.create(need(name, 'a NAME'));
          return out(created, () => writeLine(io, `Created dataset ${created.name}.`));
        }
        case 'list': {
          const list = await datasets.list();
          return out({ datasets: list }, () => {
            if (list.length === 0) writeLine(io, 'No datasets yet. Import one with `lorasmith dataset import FILE.zip`.');
            for (const d of list) writeLine(io, `${d.name.padEnd(24)} ${String(d.imageCount).padStart(6)} images  ${d.subsets.map((s) => `${s.name}×${s.repeats}`).join(', ')}`);
          });
        }
        case 'show': {
          const shown = await datasets.show(need(name, 'a NAME'));
          return out(shown, () => {
            writeLine(io, `${shown.name}: ${shown.imageCount} images, created ${shown.createdAt}${shown.locked ? ` (locked: ${shown.locked})` : ''}`);
            for (const s of shown.subsets) writeLine(io, `  ${s.name}: ${s.imageCount} images, repeats ${s.repeats}${s.classTokens ? `, class "${s.classTokens}"` : ''}${s.isReg ? ', regularisation' : ''}`);
            const uncaptioned = shown.images.filter((image) => !image.caption).length;
            writeLine(io, `  ${shown.images.length - uncaptioned} captioned, ${uncaptioned} without a caption`);
          });
        }
        case 'rename': {
          const renamed = await datasets.rename(need(name, 'NAME and NEW'), need(rest[0], 'NAME and NEW'));
          return out(renamed, () => writeLine(io, `Renamed to ${renamed.name}.`));
        }
        case 'rm': {
          await datasets.remove(need(name, 'a NAME'));
          return out({ removed: name }, () => writeLine(io, `Removed dataset ${name}.`));
        }
        case 'import': {
          const source = need(name, 'a SOURCE (a .zip or a folder)');
          const info = await stat(source).catch(() => null);
          if (info === null) throw new LorasmithError({ code: 'not-found', message: `${source} does not exist.`, hint: 'Check the path.', exitCode: 2 });
          const target = option(values, 'name') ?? path.basename(source).replace(/\.zip$/i, '');
          const task = await studio.tasks.start('dataset-import', { source: info.isDirectory() ? 'folder' : 'zip', path: path.resolve(source), name: target });
          const code = await followTask({ io, json, source: { kind: 'local', tasks: studio.tasks }, id: task.id, label: `import ${target}` });
          const done = await studio.tasks.get(task.id);
          if (!json && done.state === 'succeeded') printReport(io, (done.result as { report: ImportReport }).report);
          return code;
        }
        case 'captions-import': {
          const list = need(rest[0], 'NAME and a LIST file');
          const format = list.toLowerCase().endsWith('.jsonl') ? 'jsonl' : list.toLowerCase().endsWith('.csv') ? 'csv' : null;
          if (format === null) throw usageError('The caption list must be a .csv or a .jsonl file.', 'CSV rows: file,caption — JSONL lines: {"file": "a.png", "text": "…"}');
          const result = await datasets.importCaptions(need(name, 'a NAME'), list, format, subset);
          return out(result, () => writeLine(io, `${result.written.length} caption(s) written, ${result.skipped.length} skipped.`));
        }
        case 'caption': {
          const image = need(rest[0], 'NAME and SUBSET/FILE');
          const text = option(values, 'set');
          if (text !== undefined) {
            const applied = await datasets.writeCaption(need(name, 'a NAME'), image, { text });
            return out(applied, () => writeLine(io, `Caption of ${image} set${applied.undoId ? ` (undo: lorasmith dataset undo ${name} ${applied.undoId})` : ' (unchanged)'}.`));
          }
          const caption = await datasets.caption(need(name, 'a NAME'), image);
          return out(caption, () => writeLine(io, caption.exists ? caption.text : '(no caption)'));
        }
        case 'bulk': {
          const edit = parseEdit(rest[0], rest.slice(1), values);
          const dataset = need(name, 'a NAME');
          if (flag(values, 'apply')) {
            const applied = await datasets.applyEdit(dataset, edit, subset);
            return out(applied, () => writeLine(io, `${applied.changes.length} caption(s) changed${applied.undoId ? `; undo with: lorasmith dataset undo ${dataset} ${applied.undoId}` : ''}.`));
          }
          const preview = await datasets.previewEdit(dataset, edit, subset);
          return out(preview, () => {
            for (const c of preview.changes.slice(0, 20)) writeLine(io, `${c.image}\n  - ${c.before ?? '(none)'}\n  + ${c.after}`);
            writeLine(io, `${preview.changes.length} of ${preview.images} caption(s) would change. Add --apply to write them.`);
          });
        }
        case 'undo': {
          const undone = await datasets.undo(need(name, 'a NAME'), rest[0]);
          return out(undone, () => writeLine(io, `Undid "${undone.label}": ${undone.restored.length} restored, ${undone.removed.length} removed.`));
        }
        case 'tags': {
          const frequency = await datasets.tags(need(name, 'a NAME'), subset);
          return out(frequency, () => {
            writeLine(io, `${frequency.tagged} of ${frequency.images} images tagged`);
            for (const t of frequency.tags.slice(0, 50)) writeLine(io, `${String(t.images).padStart(6)}  ${t.tag}`);
          });
        }
        case 'lint': {
          const trigger = option(values, 'trigger');
          const report = await datasets.lint(need(name, 'a NAME'), { ...planParams(), ...(trigger === undefined ? {} : { trigger }) });
          if (json) writeJson(io, report);
          else {
            for (const f of report.findings) writeLine(io, `${f.severity.padEnd(7)} ${f.image}: ${f.message}`);
            writeLine(io, `${report.images} images, ${report.findings.length} finding(s)`);
          }
          return report.findings.some((f) => f.severity === 'error') ? 1 : 0;
        }
        case 'tag': {
          const dataset = need(name, 'a NAME');
          const threshold = (flagName: string) => {
            const text = option(values, flagName);
            return text === undefined ? undefined : Number(text);
          };
          const request = taggingRequestSchema.safeParse({
            modelId: option(values, 'model'),
            mode: option(values, 'mode') ?? 'skip',
            ...(subset === undefined ? {} : { subset }),
            ...(threshold('general') === undefined ? {} : { generalThreshold: threshold('general') }),
            ...(threshold('character') === undefined ? {} : { characterThreshold: threshold('character') }),
            ...(option(values, 'exclude') === undefined ? {} : { exclude: (option(values, 'exclude') ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '') }),
            ...(option(values, 'trigger') === undefined ? {} : { triggerWord: option(values, 'trigger') }),
          });
          if (!request.success) throw usageError('`dataset tag` needs --model ID; thresholds are 0–1; --mode is skip, append or overwrite.', 'See `lorasmith dataset --help` (tagger ids: `lorasmith models list`).');
          const task = await startDatasetTagging(studio, dataset, request.data);
          return followTask({ io, json, source: { kind: 'local', tasks: studio.tasks }, id: task.id, label: `tag ${dataset}` });
        }
        case 'steps': {
          const plan = await datasets.plan(need(name, 'a NAME'), planParams());
          return out(plan, () => {
            for (const b of plan.buckets) writeLine(io, `  ${b.width}×${b.height}: ${b.images} image(s)`);
            writeLine(io, `${plan.steps.stepsPerEpoch} steps per epoch × ${plan.steps.epochs} epochs = ${plan.steps.maxTrainSteps} steps`);
          });
        }
        default:
          throw usageError(action === undefined ? '`dataset` needs an action.' : `Unknown dataset action ${JSON.stringify(action)}.`, 'See `lorasmith dataset --help`.');
      }
    });
  },
};

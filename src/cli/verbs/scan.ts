import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { LorasmithError } from '../../core/errors.ts';
import { inspectDiffusersFolder } from '../../formats/diffusers.ts';
import { scanFile, type FileScan } from '../../formats/scan-file.ts';
import { usageError, writeJson, writeLine } from '../io.ts';
import { flag, parseVerbArgs, type Verb } from '../verb.ts';

type WalkItem =
  | { type: 'file'; path: string }
  | { type: 'skipped'; path: string; reason: string }
  | { type: 'diffusers'; path: string; className: string; components: number }
  | { type: 'refused-folder'; path: string; code: string; message: string };

/** Names a loader might unpickle even when the content has no magic (protocol 0): scanned, never skipped. */
const WEIGHT_NAMES = /\.(bin|pt|pth|ckpt|pkl|pickle)$/i;

/**
 * Regular files under the given paths; symlinks met while walking are not followed (they could lead
 * anywhere). A diffusers folder is recognised by content: its weight files are scanned, its configs and
 * tokenizer files are data, not models.
 */
async function* walk(target: string, explicit: boolean): AsyncGenerator<WalkItem> {
  const info = await lstat(target).catch(() => null);
  if (info === null) throw new LorasmithError({ code: 'not-found', message: `${target} does not exist.`, hint: 'Check the path.', exitCode: 2 });
  if (info.isSymbolicLink() && !explicit) return yield { type: 'skipped', path: target, reason: 'a symbolic link (not followed)' };
  if (!info.isDirectory()) return yield { type: 'file', path: target };
  const entries = (await readdir(target)).sort();
  if (entries.includes('model_index.json')) {
    const inspection = await inspectDiffusersFolder({ dir: target });
    if (!inspection.ok) return yield { type: 'refused-folder', path: target, code: inspection.reason.code, message: inspection.reason.message };
    const { pipeline } = inspection;
    yield { type: 'diffusers', path: target, className: pipeline.className, components: pipeline.components.length };
    for (const component of pipeline.components) {
      for (const file of component.weightFiles) yield { type: 'file', path: file.path };
      for (const file of component.otherFiles) if (WEIGHT_NAMES.test(file.name)) yield { type: 'file', path: file.path };
    }
    return;
  }
  for (const entry of entries) yield* walk(path.join(target, entry), false);
}

function line(result: FileScan): string {
  const finding = result.findings[0];
  const reason = finding === undefined ? '' : `  ${finding.message}${finding.label && !finding.message.includes(finding.label) ? ` (contains ${finding.label})` : ''}`;
  const warn = result.warnings.length > 0 ? `  [${result.warnings.length} warning${result.warnings.length > 1 ? 's' : ''}]` : '';
  return `${result.verdict.padEnd(11)} ${result.path}  (${result.format})${reason}${warn}`;
}

export const scanVerb: Verb = {
  name: 'scan',
  help: `lorasmith scan PATH... [--json]

Scans each file by its content (never its extension): pickle-based checkpoints (.ckpt/.pt/.bin/…) with a
static opcode scanner that imports and runs nothing, safetensors, GGUF and ONNX with strict validators.
Folders are walked; symbolic links inside them are not followed; a diffusers folder (model_index.json) is
recognised by content and its weight files scanned. Exit code 1 when any verdict is not safe.

--json: {"results": [{"path","size","format","verdict","findings":[{"code","message","verdict","offset"?,"member"?,"global"?,"label"?}],"warnings":[{"code","message"}],"convertible"}], "folders": [{"type":"diffusers","path","className","components"} | {"type":"refused-folder","path","code","message"}], "safe": N, "refused": N}`,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('scan', args, {});
    if (positionals.length === 0) throw usageError('`scan` needs at least one PATH.', 'Example: lorasmith scan ~/Downloads/model.ckpt');
    const json = flag(values, 'json');
    const results: FileScan[] = [];
    const folders: Array<Extract<WalkItem, { type: 'diffusers' | 'refused-folder' }>> = [];
    for (const target of positionals) {
      for await (const item of walk(target, true)) {
        if (item.type === 'skipped') {
          if (!json) writeLine(io, `skipped     ${item.path}  (${item.reason})`);
        } else if (item.type === 'diffusers') {
          folders.push(item);
          if (!json) writeLine(io, `diffusers   ${item.path}/  (${item.className}, ${item.components} components)`);
        } else if (item.type === 'refused-folder') {
          folders.push(item);
          if (!json) writeLine(io, `invalid     ${item.path}/  (diffusers)  ${item.message}`);
        } else {
          const result = await scanFile({ path: item.path });
          results.push(result);
          if (!json) writeLine(io, line(result));
        }
      }
    }
    const refused = results.filter((result) => result.verdict !== 'safe').length + folders.filter((folder) => folder.type === 'refused-folder').length;
    if (json) writeJson(io, { results: results.map(({ details: _details, ...rest }) => rest), folders, safe: results.length - refused, refused });
    else writeLine(io, `${results.length} file${results.length === 1 ? '' : 's'}: ${results.length - refused} safe, ${refused} refused`);
    return refused > 0 ? 1 : 0;
  },
};

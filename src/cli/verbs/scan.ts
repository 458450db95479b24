import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { LorasmithError } from '../../core/errors.ts';
import { scanFile, type FileScan } from '../../formats/scan-file.ts';
import { usageError, writeJson, writeLine } from '../io.ts';
import { flag, parseVerbArgs, type Verb } from '../verb.ts';

/** Regular files under the given paths; symlinks met while walking are not followed (they could lead anywhere). */
async function* walk(target: string, explicit: boolean): AsyncGenerator<{ path: string; skipped?: string }> {
  const info = await lstat(target).catch(() => null);
  if (info === null) throw new LorasmithError({ code: 'not-found', message: `${target} does not exist.`, hint: 'Check the path.', exitCode: 2 });
  if (info.isSymbolicLink() && !explicit) return yield { path: target, skipped: 'a symbolic link (not followed)' };
  if (info.isDirectory()) {
    const entries = (await readdir(target)).sort();
    for (const entry of entries) yield* walk(path.join(target, entry), false);
    return;
  }
  yield { path: target };
}

function line(result: FileScan): string {
  const finding = result.findings[0];
  const reason = finding === undefined ? '' : `  ${finding.message}${finding.label ? ` (contains ${finding.label})` : ''}`;
  const warn = result.warnings.length > 0 ? `  [${result.warnings.length} warning${result.warnings.length > 1 ? 's' : ''}]` : '';
  return `${result.verdict.padEnd(11)} ${result.path}  (${result.format})${reason}${warn}`;
}

export const scanVerb: Verb = {
  name: 'scan',
  summary: 'scan model files (or folders) without running them: safe | unsafe | invalid | unsupported',
  help: `lorasmith scan PATH... [--json]

Scans each file by its content (never its extension): pickle-based checkpoints (.ckpt/.pt/.bin/…) with a
static opcode scanner that imports and runs nothing, safetensors, GGUF and ONNX with strict validators.
Folders are walked; symbolic links inside them are not followed. Exit code 1 when any verdict is not safe.

--json: {"results": [{"path","size","format","verdict","findings":[{"code","message","verdict","offset"?,"member"?,"global"?,"label"?}],"warnings":[{"code","message"}],"convertible"}], "safe": N, "refused": N}`,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('scan', args, {});
    if (positionals.length === 0) throw usageError('`scan` needs at least one PATH.', 'Example: lorasmith scan ~/Downloads/model.ckpt');
    const json = flag(values, 'json');
    const results: FileScan[] = [];
    for (const target of positionals) {
      for await (const entry of walk(target, true)) {
        if (entry.skipped !== undefined) {
          if (!json) writeLine(io, `skipped     ${entry.path}  (${entry.skipped})`);
          continue;
        }
        const result = await scanFile({ path: entry.path });
        results.push(result);
        if (!json) writeLine(io, line(result));
      }
    }
    const refused = results.filter((result) => result.verdict !== 'safe').length;
    if (json) writeJson(io, { results: results.map(({ details: _details, ...rest }) => rest), safe: results.length - refused, refused });
    else writeLine(io, `${results.length} file${results.length === 1 ? '' : 's'}: ${results.length - refused} safe, ${refused} refused`);
    return refused > 0 ? 1 : 0;
  },
};

import { workspaceHome, workspacePaths } from '../../core/workspace.ts';
import { runDoctor } from '../../studio/doctor.ts';
import { usageError, writeJson, writeLine } from '../io.ts';
import { flag, parseVerbArgs, type Verb } from '../verb.ts';
import { storedEngineSettings } from './engine.ts';

const MARK = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' } as const;

export const doctorVerb: Verb = {
  name: 'doctor',
  help: `lorasmith doctor [--json]

Checks what the studio needs from this machine: Node, workspace permissions, free disk, GPUs,
python3, bubblewrap, and each training engine as \`lorasmith engine detect\` sees it.
Exit code 1 when a check fails.`,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('doctor', args, {});
    if (positionals.length > 0) throw usageError('`doctor` takes no arguments.', 'Run `lorasmith doctor`.');
    const engineSettings = await storedEngineSettings(io.env);
    const checks = await runDoctor({ paths: workspacePaths(workspaceHome(io.env)), env: io.env, ...(engineSettings === undefined ? {} : { engineSettings }) });
    const failed = checks.some((check) => check.status === 'fail');
    if (flag(values, 'json')) writeJson(io, { ok: !failed, checks });
    else {
      for (const check of checks) {
        writeLine(io, `${MARK[check.status]}  ${check.name.padEnd(13)} ${check.detail}`);
        if (check.hint && check.status !== 'ok') writeLine(io, `      ${' '.repeat(13)} → ${check.hint}`);
      }
    }
    return failed ? 1 : 0;
  },
};

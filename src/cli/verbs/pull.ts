/**
 * `lorasmith pull SOURCE`: download, verify, scan (convert) into the library (DESIGN.md §5, §7).
 * Through the running studio when there is one, else in this process under the workspace lock.
 * Exit codes: 0 stored; 1 a refused, unsafe or unverifiable download (also one left awaiting
 * confirmation, or cancelled); 2 usage, network, rate limit or disk.
 */
import type { ExitCode } from '../../core/errors.ts';
import { buildHubContext, type HubSettings } from '../../hub/hub-context.ts';
import { parseSource } from '../../hub/parse-source.ts';
import type { HubNetwork } from '../../hub/hub-network.ts';
import { pullDeps } from '../../hub/pull-deps.ts';
import type { PullResult } from '../../hub/pull.ts';
import { confirmPull, discardPull, pullParamsSchema, pullTask, PULL_TASK_KIND, type PullParams } from '../../hub/pull-task.ts';
import { acquireWorkspaceLock } from '../../server/studio-lock.ts';
import { TaskService } from '../../tasks/task-service.ts';
import type { TaskRecord } from '../../tasks/task-types.ts';
import { followTask, type TaskSource } from '../follow-task.ts';
import { usageError, writeJson, writeLine, type CliIO } from '../io.ts';
import { withLocalStudio } from '../local-studio.ts';
import { connectStudio } from '../studio-client.ts';
import { flag, option, parseVerbArgs, type Verb } from '../verb.ts';

const EXIT_2_CODES = new Set(['rate-limited', 'network', 'disk-full', 'usage', 'invalid-source']);

export interface PullVerbOptions {
  /** Hub settings (endpoints, allowed URL hosts); default the environment only. */
  settings?: (env: NodeJS.ProcessEnv) => HubSettings;
  /** Test hooks: the double's lookup and CA. */
  network?: HubNetwork;
  clamscan?: string | null;
}

const HELP = `lorasmith pull SOURCE [--kind K] [--include GLOB]... [--sha256 HEX | --accept-unverified] [--json]
lorasmith pull --confirm TASK_ID | --discard TASK_ID [--json]

Download a model, verify it against the provider's digest, scan it (a safe pickle is converted to
safetensors) and add it to the library under models/<kind>/<source>/<id>/<rev>/.

SOURCE
  hf:<repo-id>[@<revision>]:<path>        a file; a path ending in / is a folder (every file below it,
                                          narrowed by --include), stored as ONE library entry (a
                                          diffusers pipeline, a tagger, sharded weights); the revision
                                          defaults to main and is resolved to a commit first
  https://huggingface.co/<repo>/resolve/<rev>/<path>   (or /blob/) the same
  civitai:<versionId>[:<fileId>]          the version's primary file, or that file
  https://civitai.com/models/<id>?modelVersionId=<versionId>   the same as civitai:<versionId>
  https://<allowed host>/<path>           only with --sha256 HEX or --accept-unverified

  --kind K             checkpoint | lora | vae | text-encoder | embedding | tagger | other: a check, the
                       fingerprint decides (a mismatch fails)
  --include GLOB       for folders: keep matching files (repeatable; "*.safetensors", "unet/**")
  --sha256 HEX         the expected SHA-256 (plain URLs; for hub sources an extra check)
  --accept-unverified  store a file the provider lists no SHA-256 for, marked unverified
  --confirm TASK_ID    store the files of a pull that waits in awaiting-confirmation (marked unverified)
  --discard TASK_ID    delete them instead

Tokens: HF_TOKEN / CIVITAI_TOKEN or \`lorasmith login\`; they go only to the provider's API host.
Endpoints: LORASMITH_HF_ENDPOINT, LORASMITH_CIVITAI_ENDPOINT (+ *_REDIRECT_HOSTS) for mirrors and tests.
Exit codes: 0 stored; 1 refused, unsafe, unverifiable (awaiting confirmation) or cancelled; 2 usage,
network, rate limit or disk full.
--json: JSON Lines {"type":"progress",…}, then {"type":"summary","task":{…,"result":{…}}}.`;

function exitFor(record: TaskRecord): ExitCode {
  if (record.state === 'succeeded') return record.detail === 'awaiting-confirmation' ? 1 : 0;
  if (record.state === 'failed' && record.error !== null && EXIT_2_CODES.has(record.error.code)) return 2;
  return 1;
}

function printResult(io: CliIO, record: TaskRecord): void {
  if (record.state !== 'succeeded') return;
  const result = record.result as PullResult | null;
  if (result === null) return;
  if (result.civitaiFile !== null) writeLine(io, `Civitai file ${result.civitaiFile.id}: ${result.civitaiFile.name}`);
  if (result.revision !== null && result.provider === 'hf') writeLine(io, `commit ${result.revision}`);
  if (result.state === 'awaiting-confirmation') {
    writeLine(io, `awaiting confirmation: ${result.pendingReason ?? 'no provider digest'}`);
    writeLine(io, `The file waits in quarantine. Store it marked unverified with \`lorasmith pull --confirm ${record.id}\`, or delete it with \`lorasmith pull --discard ${record.id}\`.`);
    return;
  }
  // A multi-file pull is one entry: its files were each verified on their own.
  const kinds = [...new Set(result.files.flatMap((file) => file.verifiedBy))];
  const verified = result.files.some((file) => file.verifiedBy.length === 0) || kinds.length === 0 ? 'UNVERIFIED' : `verified by ${kinds.join(' + ')}`;
  const count = result.files.length > 1 ? `${result.files.length} files, ` : '';
  for (const model of result.models) {
    writeLine(io, `${result.duplicates.includes(model.id) ? 'already in the library' : 'stored'}: ${model.id}  ${model.kind} ${model.family}  ${model.name}  (${count}${verified})`);
  }
}

function paramsFrom(values: Record<string, unknown>, source: string | undefined): PullParams {
  if (source === undefined) throw usageError('`pull` needs a SOURCE.', 'Example: lorasmith pull hf:org/model:model.safetensors');
  const include = values.include;
  const parsed = pullParamsSchema.safeParse({
    source,
    ...(option(values, 'kind') === undefined ? {} : { kind: option(values, 'kind') }),
    ...(Array.isArray(include) && include.length > 0 ? { include } : {}),
    ...(option(values, 'sha256') === undefined ? {} : { sha256: option(values, 'sha256') }),
    ...(flag(values, 'accept-unverified') ? { acceptUnverified: true } : {}),
  });
  if (!parsed.success) {
    throw usageError(`Invalid options: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'options'}: ${issue.message}`).join('; ')}.`, 'See `lorasmith pull --help`.');
  }
  return parsed.data;
}

export function createPullVerb(options: PullVerbOptions = {}): Verb {
  return {
    name: 'pull',
    help: HELP,
    async run(args, io) {
      const { values, positionals } = parseVerbArgs('pull', args, {
        kind: { type: 'string' },
        include: { type: 'string', multiple: true },
        sha256: { type: 'string' },
        'accept-unverified': { type: 'boolean', default: false },
        confirm: { type: 'string' },
        discard: { type: 'string' },
      });
      const json = flag(values, 'json');
      const confirmId = option(values, 'confirm');
      const discardId = option(values, 'discard');
      if (positionals.length > 1) throw usageError('`pull` takes one SOURCE.', 'See `lorasmith pull --help`.');
      if (confirmId !== undefined && discardId !== undefined) throw usageError('Give --confirm or --discard, not both.', 'See `lorasmith pull --help`.');
      const action = confirmId !== undefined ? 'confirm' : discardId !== undefined ? 'discard' : 'pull';
      if (action !== 'pull' && positionals.length > 0) throw usageError(`--${action} takes a task id, not a SOURCE.`, 'See `lorasmith pull --help`.');
      const params = action === 'pull' ? paramsFrom(values, positionals[0]) : undefined;
      // Fail fast on a malformed source (exit 2), before any task exists.
      if (params !== undefined) parseSource(params.source, buildHubContext({ settings: options.settings?.(io.env) ?? { env: io.env } }).parseOptions);
      const label = action === 'pull' ? `pull ${positionals[0] ?? ''}`.slice(0, 80) : `${action} ${confirmId ?? discardId ?? ''}`;

      const finish = async (source: TaskSource, id: string, get: () => Promise<TaskRecord>): Promise<ExitCode> => {
        await followTask({ io, json, source, id, label });
        const record = await get();
        if (!json) printResult(io, record);
        return exitFor(record);
      };

      const client = await connectStudio(io.env);
      if (client !== null) {
        if (action === 'discard') {
          await client.request('POST', `/api/pulls/${encodeURIComponent(discardId ?? '')}/discard`, {});
          if (json) writeJson(io, { discarded: discardId });
          else writeLine(io, `Discarded the files of ${discardId}.`);
          return 0;
        }
        const task =
          action === 'confirm'
            ? await client.request<TaskRecord>('POST', `/api/pulls/${encodeURIComponent(confirmId ?? '')}/confirm`, {})
            : await client.request<TaskRecord>('POST', '/api/pulls', params);
        return finish({ kind: 'remote', client }, task.id, () => client.request<TaskRecord>('GET', `/api/tasks/${encodeURIComponent(task.id)}`));
      }

      return withLocalStudio<ExitCode>(io.env, async (studio) => {
        const lock = await acquireWorkspaceLock({ lockFile: studio.workspace.paths.serverLock, serverJson: studio.workspace.paths.serverJson, purpose: 'pull' });
        // A private task service over the same database: the pull kind is registered here whether or
        // not the studio registers it, and nothing else runs in this process.
        const tasks = new TaskService({ db: studio.db, log: studio.log });
        try {
          tasks.register(
            pullTask(
              pullDeps({
                workspace: studio.workspace,
                library: studio.library,
                securityEvents: studio.securityEvents,
                secrets: studio.secrets,
                settings: options.settings?.(io.env) ?? (async () => ({ env: io.env, ...(await studio.settings.get()).hub })),
                ...(options.network === undefined ? {} : { network: options.network }),
                ...(options.clamscan === undefined ? {} : { clamscan: options.clamscan }),
              }),
            ),
          );
          if (action === 'discard') {
            await discardPull({ tasks, workspace: studio.workspace, taskId: discardId ?? '' });
            if (json) writeJson(io, { discarded: discardId });
            else writeLine(io, `Discarded the files of ${discardId}.`);
            return 0;
          }
          const task = action === 'confirm' ? await confirmPull({ tasks, workspace: studio.workspace, taskId: confirmId ?? '' }) : await tasks.start(PULL_TASK_KIND, params);
          return await finish({ kind: 'local', tasks }, task.id, () => tasks.get(task.id));
        } finally {
          await tasks.close();
          await lock.release();
        }
      });
    },
  };
}

export const pullVerb: Verb = createPullVerb();

/**
 * The composition root: one workspace, its database, settings, secrets, access control and task service.
 * The server and the in-process CLI both build exactly this, so they run the same domain code.
 */
import { ApiSecretDigest, ensureApiSecret } from '../access/api-secret.ts';
import { NamedTokens } from '../access/named-tokens.ts';
import { PairingCodes } from '../access/pairing-codes.ts';
import { SecurityEvents } from '../access/security-events.ts';
import { Sessions } from '../access/sessions.ts';
import { openDatabase, type Db } from '../core/db/open-database.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { SecretStore } from '../core/secret-store.ts';
import { SettingsStore } from '../core/settings.ts';
import { openWorkspace, type Workspace } from '../core/workspace.ts';
import { Datasets } from '../datasets/datasets.ts';
import type { HubContext } from '../hub/hub-context.ts';
import type { HubNetwork } from '../hub/hub-network.ts';
import { JobNotifier, jobNotice } from '../jobs/notify/job-webhook.ts';
import type { JobRecord } from '../jobs/job-types.ts';
import { createJobs } from '../jobs/create-jobs.ts';
import { createGpuStatsService, type GpuStatsService } from '../jobs/gpu-stats-service.ts';
import { datasetLockReason } from '../jobs/dataset-locks.ts';
import type { JobRunner } from '../jobs/job-runner.ts';
import type { JobService } from '../jobs/job-service.ts';
import { hubContextFactory, pullDeps } from '../hub/pull-deps.ts';
import { pullTask } from '../hub/pull-task.ts';
import { tagDatasetTask } from '../datasets/tagging/tag-dataset-task.ts';
import { modelImportTask } from '../library/model-import-task.ts';
import { ModelLibrary } from '../library/model-library.ts';
import { selftestTask } from '../tasks/selftest-task.ts';
import { TaskService } from '../tasks/task-service.ts';
import { UploadService } from '../uploads/upload-service.ts';

export interface Studio {
  workspace: Workspace;
  db: Db;
  log: Logger;
  settings: SettingsStore;
  secrets: SecretStore;
  apiSecret: ApiSecretDigest;
  tokens: NamedTokens;
  sessions: Sessions;
  pairing: PairingCodes;
  securityEvents: SecurityEvents;
  tasks: TaskService;
  uploads: UploadService;
  library: ModelLibrary;
  datasets: Datasets;
  /** The hubs as configured now (settings + LORASMITH_* variables) with the current tokens. */
  hubContext: () => Promise<HubContext>;
  /** The job webhook (LOG-R05). */
  notifier: JobNotifier;
  /** Training runs: queue, GPU slots, run shims, events (supervised only by the workspace lock's holder). */
  jobs: JobService;
  /** GPU readings for the Jobs page, taken only while a job is active. */
  gpuStats: GpuStatsService;
  close(): Promise<void>;
}

export interface OpenStudioParams {
  home?: string;
  log?: Logger;
  env?: NodeJS.ProcessEnv;
  /** Tests only: the hub double's DNS lookup and CA. Production resolves and verifies for real. */
  hubNetwork?: HubNetwork;
  /** Tests only: a job runner other than the run shim. */
  jobRunner?: JobRunner;
}

export async function openStudio(params: OpenStudioParams = {}): Promise<Studio> {
  const workspace = await openWorkspace(params.home === undefined ? {} : { home: params.home });
  const log = params.log ?? createLogger();
  const database = openDatabase(workspace.paths.db);
  await ensureApiSecret(workspace.paths.apiSecret);
  const tasks = new TaskService({ db: database.db, log });
  const settings = new SettingsStore(database.db);
  const securityEvents = new SecurityEvents(database.db);
  const library = new ModelLibrary({ db: database.db, workspace });
  const uploads = new UploadService({ db: database.db, quarantineDir: workspace.paths.areas.quarantine, settings: () => settings.get() });
  // A dataset is locked from enqueue to the end of its runs (DESIGN.md §3): the jobs tables say which.
  const datasets = new Datasets({ root: workspace.paths.areas.datasets, settings, isLocked: (name) => datasetLockReason(database.db, name) });
  const env = params.env ?? process.env;
  const secrets = new SecretStore(workspace.paths.secrets, env);
  tasks.register(selftestTask);
  tasks.register(modelImportTask({ workspace, library, securityEvents }));
  tasks.register(datasets.importTask());
  tasks.register(tagDatasetTask);
  const hubSettings = async () => ({ env, ...(await settings.get()).hub });
  const hubNetwork = params.hubNetwork === undefined ? {} : { network: params.hubNetwork };
  const hubContext = hubContextFactory({ secrets, settings: hubSettings, ...hubNetwork });
  tasks.register(pullTask(pullDeps({ workspace, library, securityEvents, secrets, settings: hubSettings, ...hubNetwork }), { concurrency: (await settings.get()).rateLimits.concurrentDownloads }));
  const datasetPipelines = datasets.uploadPipelines((params) => tasks.start('dataset-import', params));
  uploads.registerPipeline('zip', datasetPipelines.zip);
  uploads.registerPipeline('image', datasetPipelines.image);
  // A model upload is verified by the upload protocol, then imported as a task the page follows.
  uploads.registerPipeline('model', {
    take: async (upload) => {
      const task = await tasks.start('model-import', { file: upload.file, name: upload.name, source: 'upload' });
      return { taskId: task.id };
    },
  });
  const notifier = new JobNotifier({
    secrets,
    settings: async () => (await settings.get()).notifications,
    ...(params.hubNetwork === undefined ? {} : { transport: { ...(params.hubNetwork.lookup === undefined ? {} : { lookup: params.hubNetwork.lookup }), ...(params.hubNetwork.ca === undefined ? {} : { ca: params.hubNetwork.ca }) } }),
  });
  // The webhook is told when a run ends; a delivery that fails is logged (without the URL), never retried.
  const onFinished = async (job: JobRecord): Promise<void> => {
    const delivery = await notifier.jobFinished(jobNotice(job));
    if (delivery !== null && !delivery.delivered) log.warn({ job: job.id, error: delivery.error }, 'job webhook not delivered');
  };
  const jobs = createJobs({ db: database.db, workspace, log, settings, library, datasetsRoot: datasets.root, securityEvents, env, onFinished, ...(params.jobRunner === undefined ? {} : { runner: params.jobRunner }) });
  const gpuStats = createGpuStatsService({ jobs, path: env.PATH ?? '/usr/bin:/bin', log });
  return {
    workspace,
    db: database.db,
    log,
    settings,
    secrets,
    apiSecret: new ApiSecretDigest(workspace.paths.apiSecret),
    tokens: new NamedTokens(database.db),
    sessions: new Sessions(database.db),
    pairing: new PairingCodes(database.db),
    securityEvents,
    tasks,
    uploads,
    library,
    datasets,
    hubContext,
    notifier,
    jobs,
    gpuStats,
    close: async () => {
      await gpuStats.close();
      await jobs.close();
      await tasks.close();
      await database.close();
    },
  };
}

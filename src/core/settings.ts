/**
 * Per-workspace settings with defaults, stored in SQLite one row per section. The zod schema is the
 * single source: it fills defaults, bounds every number, and drives the API's validation.
 */
import { z } from 'zod';
// The import limits are the datasets domain's own schema (pure zod, no I/O): settings holds its values.
import { datasetImportLimitsSchema } from '../datasets/import/import-limits.ts';
// The jobs section (watchdog, stop grace, log limits, unsandboxed runs) is the jobs domain's own schema (pure zod).
import { jobSettingsSchema } from '../jobs/job-settings.ts';
// Engine locations are the training domain's own schema (pure zod, no I/O); they are operator paths, see setEngines.
import { enginesSettingsSchema, type EnginesSettings } from '../training/engines/detect/engine-settings.ts';
import type { Db } from './db/open-database.ts';
import { LorasmithError } from './errors.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const serverSettingsSchema = z
  .object({
    port: int(1, 65535).default(7433),
    sessionTtlHours: int(1, 24 * 365).default(24 * 30),
    pairingCodeTtlSeconds: int(30, 3600).default(600),
    bodyLimitBytes: int(1024, 16 * MiB).default(MiB),
    headersTimeoutMs: int(1000, 120_000).default(15_000),
    requestTimeoutMs: int(1000, 3_600_000).default(120_000),
  })
  .strict();

export const rateLimitSettingsSchema = z
  .object({
    generalPerMinute: int(1, 100_000).default(300),
    authFailuresPerMinute: int(1, 1000).default(5),
    authBackoffMinutes: int(1, 24 * 60).default(15),
    downloadStartPerMinute: int(1, 1000).default(10),
    trainingStartPerMinute: int(1, 1000).default(2),
    concurrentDownloads: int(1, 32).default(3),
  })
  .strict();

export const uploadSettingsSchema = z
  .object({
    imageMaxBytes: int(1, 64 * GiB).default(200 * MiB),
    zipMaxBytes: int(1, 1024 * GiB).default(20 * GiB),
    modelMaxBytes: int(1, 1024 * GiB).default(64 * GiB),
    chunkBytes: int(64 * 1024, 64 * MiB).default(8 * MiB),
    staleAfterHours: int(1, 24 * 30).default(24),
  })
  .strict();

const hostEntry = z.string().min(1).max(253).regex(/^[A-Za-z0-9.*:[\]-]+$/, 'a host name, host:port or *.suffix');

/** Hub access (DESIGN.md §7): the LORASMITH_* variables win over these when both are set. */
export const hubSettingsSchema = z
  .object({
    hfEndpoint: z.url({ protocol: /^https$/ }).max(200).optional(),
    hfRedirectHosts: z.array(hostEntry).max(50).default([]),
    civitaiEndpoint: z.url({ protocol: /^https$/ }).max(200).optional(),
    civitaiRedirectHosts: z.array(hostEntry).max(50).default([]),
    civitaiRed: z.boolean().default(false),
    /** Hosts plain https URLs may be pulled from (with --sha256 or --accept-unverified); none by default. */
    urlHosts: z.array(hostEntry).max(200).default([]),
    maxBytes: int(1, 1024 * GiB).default(64 * GiB),
  })
  .strict();

/**
 * Job notifications (LOG-R05). The webhook URL itself is a secret (secret store, `webhook`); saving it adds no
 * host: each host it may reach (and every redirect target) is listed here by the user, https only unless
 * `webhookAllowHttp`, and a host that resolves to a loopback, private or link-local address only when it is also
 * in `webhookPrivateHosts`.
 */
export const notificationSettingsSchema = z
  .object({
    webhookHosts: z.array(hostEntry).max(20).default([]),
    webhookAllowHttp: z.boolean().default(false),
    webhookPrivateHosts: z.array(hostEntry.regex(/^[^*.]/, 'an exact host or host:port, not a *.suffix')).max(20).default([]),
  })
  .strict();

export const settingsSchema = z
  .object({
    server: serverSettingsSchema.default(serverSettingsSchema.parse({})),
    rateLimits: rateLimitSettingsSchema.default(rateLimitSettingsSchema.parse({})),
    uploads: uploadSettingsSchema.default(uploadSettingsSchema.parse({})),
    datasets: datasetImportLimitsSchema.default(datasetImportLimitsSchema.parse({})),
    hub: hubSettingsSchema.default(hubSettingsSchema.parse({})),
    notifications: notificationSettingsSchema.default(notificationSettingsSchema.parse({})),
    engines: enginesSettingsSchema.default(enginesSettingsSchema.parse({})),
    jobs: jobSettingsSchema.default(jobSettingsSchema.parse({})),
  })
  .strict();

export type Settings = z.infer<typeof settingsSchema>;
export type SettingsSection = keyof Settings;
export const SETTINGS_SECTIONS = Object.keys(settingsSchema.shape) as SettingsSection[];

type PatchShape<S extends z.ZodRawShape> = { [K in keyof S]: z.ZodOptional<S[K] extends z.ZodDefault<infer Inner> ? Inner : S[K]> };

/**
 * A section's patch: every key optional and *without its default*. (`.partial()` keeps defaults, so a patch of one
 * key would come out of parsing with every other key of the section reset to its default.)
 */
function sectionPatch<S extends z.ZodRawShape>(section: z.ZodObject<S>): z.ZodOptional<z.ZodObject<PatchShape<S>, z.core.$strict>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(section.shape)) shape[key] = (field instanceof z.ZodDefault ? (field.unwrap() as z.ZodType) : (field as z.ZodType)).optional();
  return z.object(shape).strict().optional() as unknown as z.ZodOptional<z.ZodObject<PatchShape<S>, z.core.$strict>>;
}

/** A patch names sections and, within each, only the keys it changes. */
export const settingsPatchSchema = z
  .object({
    server: sectionPatch(serverSettingsSchema),
    rateLimits: sectionPatch(rateLimitSettingsSchema),
    uploads: sectionPatch(uploadSettingsSchema),
    datasets: sectionPatch(datasetImportLimitsSchema),
    hub: sectionPatch(hubSettingsSchema),
    notifications: sectionPatch(notificationSettingsSchema),
    jobs: sectionPatch(jobSettingsSchema),
  })
  .strict();
export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

export function defaultSettings(): Settings {
  return settingsSchema.parse({});
}

export class SettingsStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async get(): Promise<Settings> {
    const rows = await this.#db.selectFrom('settings').select(['key', 'value']).execute();
    const stored: Record<string, unknown> = {};
    for (const row of rows) {
      if ((SETTINGS_SECTIONS as string[]).includes(row.key)) stored[row.key] = JSON.parse(row.value);
    }
    const parsed = settingsSchema.safeParse(stored);
    if (!parsed.success) {
      throw new LorasmithError({
        code: 'settings-invalid',
        message: `The stored settings are invalid: ${z.prettifyError(parsed.error)}`,
        hint: 'Fix them with PATCH /api/settings, or delete the section’s row from the settings table to return to the defaults.',
      });
    }
    return parsed.data;
  }

  async update(patch: SettingsPatch): Promise<Settings> {
    const checked = settingsPatchSchema.parse(patch);
    const current = await this.get();
    const next = settingsSchema.parse({
      ...current,
      ...Object.fromEntries(
        Object.entries(checked).map(([section, values]) => [section, { ...current[section as SettingsSection], ...values }]),
      ),
    });
    await this.#db.transaction().execute(async (trx) => {
      for (const section of Object.keys(checked) as SettingsSection[]) {
        await trx
          .insertInto('settings')
          .values({ key: section, value: JSON.stringify(next[section]) })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(next[section]) }))
          .execute();
      }
    });
    return next;
  }

  /**
   * The engines section is not in `SettingsPatch` (PATCH /api/settings cannot set operator paths): the
   * engine location service checks the paths exist and who asks, then replaces the section here.
   */
  async setEngines(engines: EnginesSettings): Promise<Settings> {
    const next = settingsSchema.parse({ ...(await this.get()), engines });
    const value = JSON.stringify(next.engines);
    await this.#db.insertInto('settings').values({ key: 'engines', value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
    return next;
  }
}

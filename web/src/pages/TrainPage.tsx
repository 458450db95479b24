import { useCallback, useEffect, useMemo, useState } from 'react';
import { request, toApiError, type ApiError } from '../api.ts';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { Loading } from '../components/Loading.tsx';
import { Section } from '../components/Section.tsx';
import { useJson } from '../hooks/useJson.ts';
import { navigate } from '../router.ts';
import type { ModelRecord } from '../types.ts';
import type { DatasetSummary } from './datasets/types.ts';
import { CommandPanel } from './train/CommandPanel.tsx';
import { withDefaults } from './train/defaults.ts';
import { FormContext, type FormContextValue } from './train/formContext.ts';
import { IssuesPanel, sortIssues } from './train/IssuesPanel.tsx';
import { FluxflowPlanPanel, PlanPanel } from './train/PlanPanel.tsx';
import { PresetPicker } from './train/PresetPicker.tsx';
import { RunForm } from './train/SchemaForm.tsx';
import { startRun } from './train/startRun.ts';
import { clearTrainDraft, peekTrainDraft } from './train/trainDraft.ts';
import { discriminatorOf, initialValue, isPlainObject, mergeConfig, objectVariants, parentPaths, setAt } from './train/schema.ts';
import type { DryRunResult, Json, JsonObject, JsonSchemaNode, Path, RunIssue, RunPreset, TrainSchema, ValidateResult } from './train/types.ts';

const CHECK_DELAY_MS = 400;
/** What Start does until the jobs module lands (startRun.ts is where the queue gets wired). */
const START_NOTE = 'Start checks this config once more, then queues the run; follow it on the Jobs page.';

function variantOf(schema: JsonSchemaNode, kind: string): JsonSchemaNode | null {
  const variants = objectVariants(schema) ?? [];
  const key = discriminatorOf(variants) ?? 'kind';
  return variants.find((v) => v.properties?.[key]?.const === kind || v.properties?.[key]?.enum?.includes(kind)) ?? null;
}

/** A new run: the first engine's defaults (a kohya LoRA run). */
function newRun(schema: JsonSchemaNode): JsonObject {
  const value = initialValue(schema, true);
  return isPlainObject(value) ? (withDefaults(schema, value) as JsonObject) : {};
}

/**
 * A preset over the kohya defaults. What a preset never sets is kept from the form: the run's name, seed and
 * datasets, and the models when the family stays the same.
 */
function applyPreset(schema: JsonSchemaNode, current: JsonObject, preset: RunPreset): JsonObject {
  const kohya = variantOf(schema, 'kohya');
  if (!kohya) return current;
  const base = withDefaults(kohya, { ...(initialValue(kohya, true) as JsonObject), kind: 'kohya' }) as JsonObject;
  const merged = mergeConfig(base, preset.config as Json) as JsonObject;
  merged.family = preset.family;
  if (current.kind === 'kohya') {
    for (const key of ['name', 'seed', 'datasets'] as const) if (current[key] !== undefined) merged[key] = current[key];
    if (current.family === preset.family && current.model !== undefined) merged.model = current.model;
  }
  return withDefaults(kohya, merged) as JsonObject;
}

function dedupe(issues: RunIssue[]): RunIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.severity}\u0000${issue.code}\u0000${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Scrolls to the field an issue names (or the nearest part of the form that exists), unfolding and focusing it. */
function goToField(path: string): void {
  const candidates = [path, ...parentPaths(path), ''];
  for (const candidate of candidates) {
    const element = document.querySelector<HTMLElement>(`[data-field-path="${CSS.escape(candidate)}"]`);
    if (!element) continue;
    for (let details = element.closest('details'); details; details = details.parentElement?.closest('details') ?? null) details.open = true;
    if (element instanceof HTMLDetailsElement) element.open = true;
    element.scrollIntoView({ block: 'center', behavior: 'smooth' });
    const control =
      element.querySelector<HTMLElement>('input:not([disabled]), select:not([disabled]), textarea:not([disabled]), button:not([disabled])') ??
      element;
    control.focus({ preventScroll: true });
    element.classList.remove('tf-flash');
    void element.offsetWidth;
    element.classList.add('tf-flash');
    return;
  }
}

interface Check {
  validation: ValidateResult | null;
  dryRun: DryRunResult | null;
  checking: boolean;
  error: ApiError | null;
}

export function TrainPage() {
  const schema = useJson<TrainSchema>('/api/train/schema');
  const presets = useJson<{ presets: RunPreset[] }>('/api/train/presets');
  const models = useJson<{ models: ModelRecord[] }>('/api/models');
  const datasets = useJson<{ datasets: DatasetSummary[] }>('/api/datasets');

  const jsonSchema = schema.data?.jsonSchema;
  const initial = useMemo(() => (jsonSchema ? newRun(jsonSchema) : null), [jsonSchema]);
  // The run being edited lives only in memory: a reload starts a new one.
  const [edited, setEdited] = useState<JsonObject | null>(() => peekTrainDraft()?.config ?? null);
  const config = edited ?? initial;
  const [presetName, setPresetName] = useState<string | null>(null);
  const [presetNote, setPresetNote] = useState<string | null>(() => peekTrainDraft()?.note ?? null);
  useEffect(() => clearTrainDraft(), []);
  const [showCommand, setShowCommand] = useState(false);
  const [check, setCheck] = useState<Check>({ validation: null, dryRun: null, checking: false, error: null });
  const [retry, setRetry] = useState(0);
  // "Start without a GPU check": only offered when nvidia-smi is there but fails (gpu_unknown).
  const [allowUnknownGpu, setAllowUnknownGpu] = useState(false);
  const [starting, setStarting] = useState(false);
  const [startStatus, setStartStatus] = useState<{ tone: 'ok' | 'refused'; text: string; jobId?: string } | null>(null);

  const set = useCallback(
    (path: Path, value: Json) => {
      setEdited((current) => {
        const base = current ?? initial ?? {};
        const next = setAt(base, path, value);
        return isPlainObject(next) ? next : base;
      });
    },
    [initial],
  );

  // Live validation: each change is checked after a pause; a clean config is dry-run for its plan and command.
  useEffect(() => {
    if (!config) return;
    const controller = new AbortController();
    const { signal } = controller;
    const timer = setTimeout(() => {
      setCheck((c) => ({ ...c, checking: true }));
      void (async () => {
        try {
          const validation = await request<ValidateResult>('POST', '/api/train/validate', { body: { config }, signal });
          const hasErrors = !validation.ok || validation.issues.some((i) => i.severity === 'error');
          const dryRun = hasErrors ? null : await request<DryRunResult>('POST', '/api/train/dry-run', { body: { config, allowUnknownGpu }, signal });
          if (!signal.aborted) setCheck({ validation, dryRun, checking: false, error: null });
        } catch (cause) {
          if (!signal.aborted) setCheck((c) => ({ ...c, checking: false, error: toApiError(cause) }));
        }
      })();
    }, CHECK_DELAY_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [config, retry, allowUnknownGpu]);

  // A change to the run makes the last start's answer stale.
  useEffect(() => setStartStatus(null), [config, allowUnknownGpu]);

  const issues = useMemo(
    () => sortIssues(dedupe([...(check.validation?.issues ?? []), ...(check.dryRun?.issues ?? [])])),
    [check.validation, check.dryRun],
  );

  const context = useMemo<FormContextValue | null>(() => {
    if (!config) return null;
    const byPath = new Map<string, RunIssue[]>();
    const counts = new Map<string, number>();
    for (const issue of issues) {
      byPath.set(issue.path, [...(byPath.get(issue.path) ?? []), issue]);
      for (const p of [issue.path, ...parentPaths(issue.path)]) counts.set(p, (counts.get(p) ?? 0) + 1);
    }
    return {
      config,
      set,
      issues: byPath,
      issueCounts: counts,
      models: models.data?.models,
      datasets: datasets.data?.datasets,
      deadFields: schema.data?.deadFields ?? [],
    };
  }, [config, set, issues, models.data, datasets.data, schema.data]);

  const choosePreset = (preset: RunPreset) => {
    if (!jsonSchema || !config) return;
    setEdited(applyPreset(jsonSchema, config, preset));
    setPresetName(preset.name);
    setPresetNote(`“${preset.title}” filled the form. The run’s name, datasets and (for the same family) models were kept.`);
  };

  const resetForm = () => {
    setEdited(null);
    setPresetName(null);
    setPresetNote(null);
  };

  // Opening the command panel brings it into view (it sits below the long form).
  useEffect(() => {
    if (showCommand) document.getElementById('train-command-region')?.scrollIntoView({ block: 'start', behavior: 'smooth' });
  }, [showCommand]);

  const dryRun = check.dryRun?.dryRun ?? null;
  const errorCount = issues.filter((i) => i.severity === 'error').length;
  const planWaiting = check.validation === null
    ? 'Checking the config…'
    : errorCount > 0
      ? 'The plan appears once the config has no errors.'
      : check.checking
        ? 'Planning…'
        : null;
  const family = config && typeof config.family === 'string' ? config.family : null;
  const gpuUnknown = issues.some((found) => found.code === 'gpu-unknown');
  const canStart = config !== null && dryRun !== null && errorCount === 0 && !check.checking && !starting;

  const start = async () => {
    if (!config) return;
    setStarting(true);
    setStartStatus(null);
    try {
      const outcome = await startRun(config, { allowUnknownGpu });
      const errors = outcome.check.issues.filter((i) => i.severity === 'error').length;
      setCheck((c) => ({ ...c, dryRun: outcome.check, error: null }));
      setStartStatus(
        outcome.kind === 'queued'
          ? { tone: 'ok', text: `Queued as job ${outcome.job.id}.`, jobId: outcome.job.id }
          : outcome.kind === 'refused'
            ? { tone: 'refused', text: `${outcome.error.message}${outcome.error.hint ? ` ${outcome.error.hint}` : ''}` }
            : { tone: 'refused', text: `The run was not queued: ${errors === 1 ? 'an error' : `${errors} errors`} under Checks.` },
      );
    } catch (cause) {
      setCheck((c) => ({ ...c, error: toApiError(cause) }));
    } finally {
      setStarting(false);
    }
  };

  return (
    <div className="page page--wide" data-testid="page-train">
      <h1 className="page__title" tabIndex={-1}>
        Train
      </h1>
      <ErrorBanner error={schema.error} onRetry={schema.reload} />
      <div className="stack">
        <Section
          id="train-presets-card"
          title="Start from a preset"
          description="Starting points for kohya LoRA runs by family and GPU memory. A preset sets the training settings; you pick the models and datasets."
        >
          {presets.error ? <ErrorBanner error={presets.error} onRetry={presets.reload} /> : null}
          {presets.data ? (
            presets.data.presets.length === 0 ? (
              <p className="muted" data-testid="train-presets">
                No presets are available.
              </p>
            ) : (
              <PresetPicker presets={presets.data.presets} selected={config?.kind === 'kohya' ? presetName : null} onChoose={choosePreset} />
            )
          ) : presets.error ? null : (
            <Loading label="Loading presets…" />
          )}
          {presetNote ? (
            <p className="hint-line muted" role="status" data-testid="preset-note">
              {presetNote}
            </p>
          ) : null}
        </Section>

        <div className="train-layout">
          <section className="card train-form-card" aria-labelledby="train-form-heading" data-testid="train-form">
            <header className="card__header">
              <div>
                <h2 id="train-form-heading" className="card__title">
                  Run settings
                </h2>
                <p className="card__description">
                  Every field comes from the run schema; its help says which engine option it becomes. Changes are checked as you type.
                </p>
              </div>
              <div className="card__actions">
                <button type="button" className="button button--small button--ghost" onClick={resetForm} disabled={edited === null} data-testid="train-reset">
                  Start over
                </button>
              </div>
            </header>
            {(models.error || datasets.error) && context ? (
              <p className="hint-line muted">
                {models.error ? 'The model library could not be read; model fields list only what is already set. ' : ''}
                {datasets.error ? 'The dataset list could not be read; dataset fields list only what is already set.' : ''}
              </p>
            ) : null}
            {context && jsonSchema ? (
              <form
                className="train-form"
                noValidate
                onSubmit={(event) => event.preventDefault()}
                aria-label="Run settings"
              >
                <FormContext.Provider value={context}>
                  <RunForm schema={jsonSchema} />
                </FormContext.Provider>
              </form>
            ) : schema.error ? null : (
              <Loading label="Loading the run schema…" />
            )}
          </section>

          <aside className="train-side" aria-label="Checks, plan and command">
            <section className="card" aria-labelledby="train-issues-heading">
              <h2 id="train-issues-heading" className="card__title">
                Checks
              </h2>
              <ErrorBanner error={check.error} onRetry={() => setRetry((n) => n + 1)} />
              <IssuesPanel issues={issues} checking={check.checking} checked={check.validation !== null} onGoTo={goToField} />
            </section>

            <section className="card" aria-labelledby="train-plan-heading">
              <h2 id="train-plan-heading" className="card__title">
                Plan{family ? <span className="muted train-side__sub"> · {family}</span> : null}
              </h2>
              {dryRun?.engine === 'fluxflow' ? <FluxflowPlanPanel plan={dryRun.plan} /> : <PlanPanel plan={dryRun?.plan} waiting={dryRun ? null : planWaiting} />}
            </section>

            <section className="card" aria-labelledby="train-run-heading">
              <h2 id="train-run-heading" className="card__title">
                Run
              </h2>
              {gpuUnknown || allowUnknownGpu ? (
                <label className="checkbox train-run__override" data-testid="allow-unknown-gpu">
                  <input type="checkbox" checked={allowUnknownGpu} onChange={(event) => setAllowUnknownGpu(event.target.checked)} />
                  Start without a GPU check: nvidia-smi fails, so the memory cannot be checked (the CLI’s --allow-unknown-gpu)
                </label>
              ) : null}
              <div className="train-run__actions">
                <button
                  type="button"
                  className="button button--ghost"
                  aria-expanded={showCommand}
                  aria-controls="train-command-region"
                  onClick={() => setShowCommand((s) => !s)}
                  data-testid="show-command"
                >
                  {showCommand ? 'Hide command and files' : 'Show command and files'}
                </button>
                <button type="button" className="button" disabled={!canStart} aria-describedby="train-start-note" onClick={() => void start()} data-testid="train-start">
                  {starting ? 'Checking…' : 'Start training'}
                </button>
              </div>
              <p className="hint-line muted" id="train-start-note">
                {START_NOTE}
              </p>
              {startStatus ? (
                <p className={`train-run__status ${startStatus.tone === 'ok' ? 'ok-line' : 'train-run__status--refused'}`} role="status" data-testid="train-start-status">
                  {startStatus.text}
                  {startStatus.jobId ? (
                    <>
                      {' '}
                      <button type="button" className="button button--small" onClick={() => navigate(`/jobs?job=${encodeURIComponent(startStatus.jobId ?? '')}`)} data-testid="train-open-job">
                        Open in Jobs
                      </button>
                    </>
                  ) : null}
                </p>
              ) : null}
            </section>
          </aside>
        </div>

        {showCommand ? (
          <Section
            id="train-command-region"
            title="Command and files"
            description="What the studio would run for this config: the engine command, its environment and every file it writes first."
            testId="command-panel"
          >
            {dryRun ? (
              <CommandPanel dryRun={dryRun} />
            ) : (
              <p className="muted">
                {errorCount > 0
                  ? `Fix the ${errorCount === 1 ? 'error' : `${errorCount} errors`} under Checks first: the command is built from a valid config.`
                  : 'Building the command…'}
              </p>
            )}
          </Section>
        ) : null}
      </div>
    </div>
  );
}


import { useState, type FormEvent } from 'react';
import { api, apiPath } from '../../api.ts';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { RichText } from '../../components/RichText.tsx';
import { Section } from '../../components/Section.tsx';
import { useAction } from '../../hooks/useAction.ts';
import { useJson } from '../../hooks/useJson.ts';
import type { EngineId, EngineSettings, EngineStatus, EnginesAnswer, GpuProbe, LocationSource } from './engineTypes.ts';

const TITLE: Record<EngineId, string> = { kohya: 'kohya sd-scripts', fluxflow: 'FluxFlow' };
const VARIABLE = { kohya: { root: 'LORASMITH_KOHYA_ROOT', python: 'LORASMITH_KOHYA_PYTHON' }, fluxflow: { root: null, python: 'LORASMITH_FLUXFLOW_PYTHON' } } as const;

function sourceText(source: LocationSource, variable: string | null): string {
  if (source === 'env') return `from ${variable ?? 'the environment'}`;
  return source === 'settings' ? 'from the settings below' : 'the workspace’s own install';
}

function GpuFacts({ gpus }: { gpus: GpuProbe }) {
  if (gpus.mode === 'gpu') {
    return (
      <>
        {gpus.gpus.map((gpu) => (
          <div key={gpu.index}>
            #{gpu.index} {gpu.name} · {(gpu.memoryFreeMiB / 1024).toFixed(1)} of {(gpu.memoryTotalMiB / 1024).toFixed(1)} GiB free · driver {gpu.driverVersion}
          </div>
        ))}
      </>
    );
  }
  return (
    <span>
      <span className={`badge badge--inline ${gpus.mode === 'cpu' ? 'badge--neutral' : 'badge--warn'}`}>{gpus.mode === 'cpu' ? 'none' : 'unknown'}</span> {gpus.reason}
    </span>
  );
}

interface LocationFormProps {
  engine: EngineId;
  settings: EngineSettings;
  editable: boolean;
  onSaved: () => void;
}

/** The engines settings for one engine: operator paths, so the studio checks each exists before it stores it. */
function LocationForm({ engine, settings, editable, onSaved }: LocationFormProps) {
  const stored = engine === 'kohya' ? { root: settings.kohyaRoot, python: settings.kohyaPython } : { root: null, python: settings.fluxflowPython };
  const [root, setRoot] = useState(stored.root ?? '');
  const [python, setPython] = useState(stored.python ?? '');
  const save = useAction(async (body: { root?: string | null; python: string | null }) => {
    await api.put(apiPath('/api/engines', engine, '/location'), body);
    onSaved();
  });
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const value = (text: string) => (text.trim() === '' ? null : text.trim());
    void save.run(engine === 'kohya' ? { root: value(root), python: value(python) } : { python: value(python) });
  };
  const clear = () => {
    setRoot('');
    setPython('');
    void save.run(engine === 'kohya' ? { root: null, python: null } : { python: null });
  };

  if (!editable) {
    return (
      <p className="row__note muted" data-testid={`engine-location-readonly-${engine}`}>
        This studio is reachable beyond its machine, so engine locations are changed there: <code>lorasmith engine set {engine} --python …</code>
      </p>
    );
  }
  const id = (field: string) => `engine-${engine}-${field}`;
  return (
    <>
      <form className="subsection__form" onSubmit={onSubmit} aria-label={`Location of ${TITLE[engine]}`} data-testid={`engine-location-${engine}`}>
        <div className="form-grid">
          {engine === 'kohya' ? (
            <>
              <label className="label" htmlFor={id('root')}>
                sd-scripts folder
              </label>
              <input id={id('root')} className="input mono" value={root} onChange={(event) => setRoot(event.target.value)} placeholder="workspace install (engines/kohya/sd-scripts)" spellCheck={false} autoComplete="off" />
            </>
          ) : null}
          <label className="label" htmlFor={id('python')}>
            Python
          </label>
          <input id={id('python')} className="input mono" value={python} onChange={(event) => setPython(event.target.value)} placeholder={`workspace install (engines/${engine}/venv/bin/python)`} spellCheck={false} autoComplete="off" />
        </div>
        <div className="inline-form">
          <button type="submit" className="button button--small" disabled={save.pending} data-testid={`engine-save-${engine}`}>
            {save.pending ? 'Checking…' : 'Save location'}
          </button>
          {stored.root !== null || stored.python !== null ? (
            <button type="button" className="button button--small button--ghost" disabled={save.pending} onClick={clear} data-testid={`engine-clear-${engine}`}>
              Use the workspace’s install
            </button>
          ) : null}
        </div>
      </form>
      <ErrorBanner error={save.error} onDismiss={save.clearError} />
    </>
  );
}

function EngineBlock({ status, settings, editable, onChanged }: { status: EngineStatus; settings: EngineSettings; editable: boolean; onChanged: () => void }) {
  const variables = VARIABLE[status.engine];
  const overridden = status.sources.root === 'env' || status.sources.python === 'env';
  const files = status.startupFiles;
  return (
    <div className="subsection" data-testid={`engine-${status.engine}`} data-installed={status.installed}>
      <div className="row__head">
        <h3 className="row__title">{TITLE[status.engine]}</h3>
        <span className={`badge badge--inline ${status.installed ? 'badge--ok' : 'badge--warn'}`}>{status.installed ? 'installed' : 'not installed'}</span>
      </div>
      <dl className="facts">
        <dt>Location</dt>
        <dd>
          <code>{status.root ?? '—'}</code> <span className="muted">({sourceText(status.sources.root, variables.root)})</span>
        </dd>
        <dt>Python</dt>
        <dd>
          <code>{status.python}</code> <span className="muted">({sourceText(status.sources.python, variables.python)})</span>
          {status.pythonVersion !== null ? ` · Python ${status.pythonVersion}` : ''}
        </dd>
        {status.engine === 'kohya' ? (
          <>
            <dt>Commit</dt>
            <dd>
              {status.commit === null ? <span className="muted">unknown</span> : <code>{status.commit.slice(0, 12)}</code>}
              {status.commitIsPinned === true ? <span className="muted"> · the pinned one</span> : null}
              {status.commitIsPinned === false ? <span className="badge badge--inline badge--warn">not the pinned commit</span> : null}
            </dd>
          </>
        ) : (
          <>
            <dt>Package</dt>
            <dd>{status.packageVersion === null ? <span className="muted">fluxflow-training not found</span> : `fluxflow-training ${status.packageVersion}`}</dd>
          </>
        )}
        <dt>torch</dt>
        <dd>{status.torch === null ? <span className="muted">not importable</span> : `${status.torch.version} · ${status.torch.cuda === null ? 'CPU build' : `CUDA ${status.torch.cuda}`}`}</dd>
        <dt>accelerate</dt>
        <dd className="muted">{status.accelerateConfig ? 'a default config exists; lorasmith passes its own launch flags' : 'no default config (none needed)'}</dd>
        <dt>Start-up files</dt>
        <dd>
          {files.missing.length === 0 ? 'complete' : `missing: ${files.missing.join(', ')}`}
          {files.missingOptional.length > 0 ? <span className="muted"> · optional, not fetched: {files.missingOptional.join(', ')}</span> : null}
        </dd>
      </dl>
      {status.problems.length > 0 ? (
        <ul className="warnings" aria-label={`What ${TITLE[status.engine]} is missing`} data-testid={`engine-problems-${status.engine}`}>
          {status.problems.map((problem) => (
            <li key={problem} className="warnings__item">
              <RichText text={problem} />
            </li>
          ))}
        </ul>
      ) : null}
      {!status.installed ? (
        <p className="row__note">
          Install it on the studio’s machine with <code>lorasmith engine install {status.engine}</code> (it shows every step and asks first), or point lorasmith at an existing install below.
        </p>
      ) : null}
      {overridden ? <p className="row__note muted">An environment variable of the studio sets this engine’s location; it wins over the settings below.</p> : null}
      <LocationForm key={JSON.stringify(settings)} engine={status.engine} settings={settings} editable={editable} onSaved={onChanged} />
    </div>
  );
}

/** The Engines panel: the same detection as `lorasmith engine detect`, and where each engine is. */
export function EnginesSection() {
  const { data, error, loading, reload } = useJson<EnginesAnswer>('/api/engines');
  return (
    <Section
      id="engines"
      title="Engines"
      description="The training engines on this machine: where each one is, whether it works, and what is missing."
      actions={
        <button type="button" className="button button--small button--ghost" onClick={reload} disabled={loading} data-testid="engines-detect">
          {loading && data ? 'Detecting…' : 'Detect again'}
        </button>
      }
      testId="engines-section"
    >
      <ErrorBanner error={error} onRetry={reload} />
      {data ? (
        <>
          <dl className="facts">
            <dt>GPUs</dt>
            <dd data-testid="engines-gpus">
              <GpuFacts gpus={data.gpus} />
            </dd>
          </dl>
          {data.engines.map((status) => (
            <EngineBlock key={status.engine} status={status} settings={data.settings} editable={data.locationsEditable} onChanged={reload} />
          ))}
        </>
      ) : error ? null : (
        <Loading />
      )}
    </Section>
  );
}

import { useMemo, useState } from 'react';
import type { ApiError } from '../../api.ts';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { Section } from '../../components/Section.tsx';
import { SelectableRow } from '../../components/SelectableRow.tsx';
import { TextField } from '../../components/TextField.tsx';
import { Time } from '../../components/Time.tsx';
import { formatBytes, formatCount } from '../../format.ts';
import type { ModelRecord } from '../../types.ts';
import { convertedFromLabel, familyLabel, KIND_LABELS, kindLabel } from './labels.ts';

interface Props {
  models: ModelRecord[] | undefined;
  error: ApiError | null;
  reload: () => void;
  selectedId: string | null;
  onSelect: (id: string) => void;
}

const ALL = '';

function counts(values: string[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const value of values) map.set(value, (map.get(value) ?? 0) + 1);
  return map;
}

function EmptyLibrary() {
  return (
    <div className="empty empty--inset" data-testid="models-empty">
      <p className="empty__line">The library is empty.</p>
      <p>
        Import a model file with the form above, or from the CLI: <code>lorasmith models import PATH</code>.
      </p>
      <p className="empty__cli">
        Safetensors, GGUF and ONNX files are read as they are. Pickle-based <code>.ckpt</code> and <code>.pt</code>{' '}
        files are scanned without running any of their code and converted to safetensors; a file that fails the scan is
        refused and never enters the library.
      </p>
    </div>
  );
}

function LoraCell({ model }: { model: ModelRecord }) {
  if (!model.lora) return <span className="muted">—</span>;
  const { rank, alpha } = model.lora;
  return (
    <span className="nowrap" title={`rank ${rank ?? 'unknown'}, alpha ${alpha ?? 'unknown'}`}>
      r{rank ?? '?'} · α{alpha ?? '?'}
    </span>
  );
}

/** The library table with kind and family filters; a row opens the model's details. */
export function LibrarySection({ models, error, reload, selectedId, onSelect }: Props) {
  const [kind, setKind] = useState(ALL);
  const [family, setFamily] = useState(ALL);
  const [query, setQuery] = useState('');

  const kindCounts = useMemo(() => counts((models ?? []).map((m) => m.kind)), [models]);
  const familyCounts = useMemo(() => counts((models ?? []).map((m) => m.family)), [models]);

  const q = query.trim().toLowerCase();
  const shown = useMemo(
    () =>
      (models ?? []).filter(
        (m) => (kind === ALL || m.kind === kind) && (family === ALL || m.family === family) && (q === '' || m.name.toLowerCase().includes(q)),
      ),
    [models, kind, family, q],
  );
  const filtered = kind !== ALL || family !== ALL || q !== '';
  const clear = () => {
    setKind(ALL);
    setFamily(ALL);
    setQuery('');
  };

  const kindOptions = Object.keys(KIND_LABELS).filter((k) => kindCounts.has(k) || k === kind);
  // Kinds the page does not know yet still get a chip.
  for (const k of kindCounts.keys()) if (!kindOptions.includes(k)) kindOptions.push(k);
  const familyOptions = [...familyCounts.keys()].sort((a, b) => familyLabel(a).localeCompare(familyLabel(b)));

  return (
    <Section
      id="model-library"
      title="Library"
      description="Every model the studio holds, newest first. Select one to see its hashes, tensors and metadata."
      actions={
        models && models.length > 0 ? (
          <span className="muted nowrap" data-testid="models-count">
            {filtered ? `${formatCount(shown.length)} of ${formatCount(models.length)}` : formatCount(models.length)}{' '}
            {models.length === 1 ? 'model' : 'models'}
          </span>
        ) : null
      }
    >
      <ErrorBanner error={error} onRetry={reload} />
      {models === undefined ? (
        error ? null : <Loading />
      ) : models.length === 0 ? (
        <EmptyLibrary />
      ) : (
        <>
          <div className="filters" data-testid="models-filters">
            <div className="chips" role="group" aria-label="Filter by kind">
              <button type="button" className="chip" aria-pressed={kind === ALL} onClick={() => setKind(ALL)} data-testid="models-kind-all">
                All <span className="chip__count">{formatCount(models.length)}</span>
              </button>
              {kindOptions.map((k) => (
                <button
                  key={k}
                  type="button"
                  className="chip"
                  aria-pressed={kind === k}
                  onClick={() => setKind(kind === k ? ALL : k)}
                  data-testid={`models-kind-${k}`}
                >
                  {kindLabel(k)} <span className="chip__count">{formatCount(kindCounts.get(k) ?? 0)}</span>
                </button>
              ))}
            </div>
            <div className="filters__fields">
              <label className="visually-hidden" htmlFor="models-family">
                Family
              </label>
              <select
                id="models-family"
                className="input select"
                value={family}
                onChange={(event) => setFamily(event.target.value)}
                data-testid="models-family"
              >
                <option value={ALL}>All families</option>
                {familyOptions.map((f) => (
                  <option key={f} value={f}>
                    {familyLabel(f)} ({formatCount(familyCounts.get(f) ?? 0)})
                  </option>
                ))}
              </select>
              <TextField
                id="models-search"
                label="Name contains"
                labelClassName="visually-hidden"
                type="search"
                className="input"
                value={query}
                onChange={setQuery}
                placeholder="Filter by name"
                testId="models-search"
              />
            </div>
          </div>

          <div className="table-scroll">
            <table className="table table--models" data-testid="models-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Family</th>
                  <th scope="col">Format</th>
                  <th scope="col" className="num">
                    Size
                  </th>
                  <th scope="col" className="num">
                    Tensors
                  </th>
                  <th scope="col">LoRA rank / α</th>
                  <th scope="col">Added</th>
                </tr>
              </thead>
              <tbody>
                {shown.length === 0 ? (
                  <tr>
                    <td colSpan={8} className="muted" data-testid="models-none-match">
                      No model matches these filters.{' '}
                      <button type="button" className="link-button" onClick={clear}>
                        Clear filters
                      </button>
                    </td>
                  </tr>
                ) : (
                  shown.map((model) => {
                    const selected = model.id === selectedId;
                    return (
                      <SelectableRow
                        key={model.id}
                        selected={selected}
                        onSelect={() => onSelect(model.id)}
                        testId={`model-row-${model.id}`}
                        nameClassName="models__name"
                        name={model.name}
                        sub={
                          model.source.converted || model.warnings.length > 0 || model.files.length > 1 ? (
                            <div className="table__sub models__badges">
                              {model.files.length > 1 ? (
                                <span className="badge badge--neutral" data-testid={`model-files-count-${model.id}`} title="One entry whose files share a folder">
                                  {model.files.length} files
                                </span>
                              ) : null}
                              {model.source.converted ? (
                                <span className="badge badge--info" data-testid={`model-converted-${model.id}`} title={`Converted to safetensors from ${model.source.converted.originalName}`}>
                                  converted from {convertedFromLabel(model.source.converted)}
                                </span>
                              ) : null}
                              {model.warnings.length > 0 ? (
                                <span className="badge badge--warn">
                                  {model.warnings.length} {model.warnings.length === 1 ? 'warning' : 'warnings'}
                                </span>
                              ) : null}
                            </div>
                          ) : null
                        }
                      >
                        <td className="nowrap">{kindLabel(model.kind)}</td>
                        <td>
                          <span className="nowrap">{familyLabel(model.family)}</span>
                          {model.variant ? <div className="table__sub muted table__wrap">{model.variant}</div> : null}
                        </td>
                        <td className="mono">{model.format}</td>
                        <td className="num nowrap">{formatBytes(model.size)}</td>
                        <td className="num">{formatCount(model.tensorCount)}</td>
                        <td>
                          <LoraCell model={model} />
                        </td>
                        <td className="nowrap">
                          <Time iso={model.createdAt} />
                        </td>
                      </SelectableRow>
                    );
                  })
                )}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Section>
  );
}

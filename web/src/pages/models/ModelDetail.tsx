import { Fragment, useEffect } from 'react';
import { api, apiPath } from '../../api.ts';
import { DataTable, SIZE } from '../../components/DataTable.tsx';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { CopyButton } from '../../components/CopyButton.tsx';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { Section } from '../../components/Section.tsx';
import { Time } from '../../components/Time.tsx';
import { formatBytes, formatCount, formatParameters } from '../../format.ts';
import { useAction } from '../../hooks/useAction.ts';
import { useJson } from '../../hooks/useJson.ts';
import type { ModelHeader, ModelRecord } from '../../types.ts';
import { familyLabel, kindLabel, predictionLabel, SOURCE_LABELS } from './labels.ts';
import { MetadataTable } from './MetadataTable.tsx';
import { ModelCivitai } from './ModelCivitai.tsx';
import { TensorTable } from './TensorTable.tsx';

interface Props {
  model: ModelRecord;
  onClose: () => void;
  onDeleted: (id: string) => void;
  /** The record came back changed (identified on Civitai). */
  onChanged: (model: ModelRecord) => void;
  /** Scroll the card into view and focus its heading when it opens (it opened on a click). */
  reveal: boolean;
}

function Hash({ label, value, testId }: { label: string; value: string | null; testId: string }) {
  return (
    <>
      <dt>{label}</dt>
      <dd data-testid={testId}>{value ? <code className="hash">{value}</code> : <span className="muted">—</span>}</dd>
    </>
  );
}

function Lora({ lora }: { lora: NonNullable<ModelRecord['lora']> }) {
  const targets = Object.entries(lora.targets).sort((a, b) => b[1] - a[1]);
  return (
    <div className="subsection" data-testid="model-lora">
      <h3 className="subsection__title">LoRA</h3>
      <dl className="facts">
        <dt>Rank</dt>
        <dd data-testid="model-lora-rank">{lora.rank ?? <span className="muted">unknown</span>}</dd>
        <dt>Alpha</dt>
        <dd data-testid="model-lora-alpha">{lora.alpha ?? <span className="muted">unknown (defaults to the rank)</span>}</dd>
        {lora.convRank !== null ? (
          <>
            <dt>Conv rank</dt>
            <dd>{lora.convRank}</dd>
          </>
        ) : null}
        <dt>Algorithm</dt>
        <dd>
          <span className="mono">{lora.algorithm}</span>
          {lora.dora ? <span className="badge badge--info badge--inline">DoRA</span> : null}
        </dd>
        <dt>Key naming</dt>
        <dd className="mono">{lora.naming}</dd>
        {lora.networkModule ? (
          <>
            <dt>Network module</dt>
            <dd className="mono table__wrap">{lora.networkModule}</dd>
          </>
        ) : null}
        <dt>Targets</dt>
        <dd>
          {targets.length === 0 ? (
            <span className="muted">none recognised</span>
          ) : (
            <ul className="targets" data-testid="model-lora-targets">
              {targets.map(([target, count]) => (
                <li key={target} className="targets__item">
                  <span className="mono">{target}</span> <span className="muted">{formatCount(count)} modules</span>
                </li>
              ))}
            </ul>
          )}
        </dd>
      </dl>
    </div>
  );
}

/** Every file of the entry, main file first: a diffusers folder or a tagger is one entry of several files. */
function Files({ files }: { files: ModelRecord['files'] }) {
  return (
    <div className="subsection" data-testid="model-files" data-count={files.length}>
      <h3 className="subsection__title">
        Files <span className="muted">({formatCount(files.length)}, in one folder)</span>
      </h3>
      <DataTable columns={['Path', SIZE, 'SHA-256']} className="table--files">
        {files.map((file) => (
          <tr key={file.path} data-testid={`model-file-${file.path}`}>
            <td className="files__path mono">
              {file.path}
              {file.main ? (
                <span className="badge badge--info badge--inline" title="The file the studio fingerprinted and hashed for this entry">
                  main
                </span>
              ) : null}
            </td>
            <td className="num nowrap">{file.size === null ? <span className="muted">—</span> : formatBytes(file.size)}</td>
            <td>{file.sha256 === null ? <span className="muted">not recorded</span> : <code className="hash" title={file.sha256}>{file.sha256.slice(0, 16)}…</code>}</td>
          </tr>
        ))}
      </DataTable>
    </div>
  );
}

/** Where the entry came from, as the hub named it (repo, commit, path; model, version, file ids; the pull). */
function Provenance({ provenance }: { provenance: NonNullable<ModelRecord['source']['provenance']> }) {
  const rows = Object.entries(provenance).filter(([, value]) => value !== null && value !== '');
  if (rows.length === 0) return null;
  return (
    <details className="evidence" data-testid="model-origin">
      <summary>Where it came from</summary>
      <dl className="facts">
        {rows.map(([key, value]) => (
          <Fragment key={key}>
            <dt>{key}</dt>
            <dd className="mono table__wrap">{String(value)}</dd>
          </Fragment>
        ))}
      </dl>
    </details>
  );
}

function HeaderTables({ id }: { id: string }) {
  const { data, error, reload } = useJson<ModelHeader>(apiPath('/api/models', id, '/header'));
  if (error) return <ErrorBanner error={error} onRetry={reload} />;
  if (!data) return <Loading label="Reading the file’s header…" />;
  return (
    <>
      <TensorTable header={data} />
      <MetadataTable metadata={data.metadata} />
    </>
  );
}

/** Everything the studio knows about one library entry, plus its tensors and metadata from the file header. */
export function ModelDetail({ model, onClose, onDeleted, onChanged, reveal }: Props) {
  const remove = useAction(async () => {
    await api.delete(apiPath('/api/models', model.id));
    onDeleted(model.id);
  });

  useEffect(() => {
    if (!reveal) return;
    const card = document.getElementById('model-detail');
    card?.scrollIntoView({ block: 'start' });
    document.getElementById('model-detail-heading')?.focus({ preventScroll: true });
  }, [reveal, model.id]);

  const converted = model.source.converted;
  const predictionUnsure = model.predictionType === 'unknown' && model.family === 'sd2';

  return (
    <Section
      id="model-detail"
      testId="model-detail"
      focusableHeading
      title={model.name}
      description={
        <>
          {kindLabel(model.kind)} · {familyLabel(model.family)}
          {model.variant ? ` (${model.variant})` : ''} · {model.format} · {formatBytes(model.size)}
        </>
      }
      actions={
        <>
          <ConfirmButton
            label="Delete"
            question="Delete from the library?"
            onConfirm={() => void remove.run()}
            disabled={remove.pending}
            testId="model-delete"
          />
          <button type="button" className="button button--small button--ghost" onClick={onClose} data-testid="model-detail-close">
            Close
          </button>
        </>
      }
    >
      <ErrorBanner error={remove.error} onDismiss={remove.clearError} />

      <div className="detail-grid">
        <div className="subsection subsection--first">
          <h3 className="subsection__title">Safety</h3>
          <p className="verdict">
            <span className="badge badge--ok" data-testid="model-verdict" data-verdict={model.verdict}>
              {model.verdict}
            </span>
            <span className="muted">Passed the studio’s safety scan.</span>
          </p>
          <div data-testid="model-warnings" data-count={model.warnings.length}>
            {model.warnings.length === 0 ? (
              <p className="muted">No warnings.</p>
            ) : (
              <ul className="warnings">
                {model.warnings.map((warning, index) => (
                  <li key={index} className="warnings__item">
                    {warning}
                  </li>
                ))}
              </ul>
            )}
          </div>
        </div>

        <div className="subsection subsection--first">
          <h3 className="subsection__title">Model</h3>
          <dl className="facts" data-testid="model-facts">
            <dt>Kind</dt>
            <dd>{kindLabel(model.kind)}</dd>
            <dt>Family</dt>
            <dd>
              {familyLabel(model.family)} <span className="mono muted">{model.family}</span>
            </dd>
            <dt>Variant</dt>
            <dd>{model.variant ?? <span className="muted">—</span>}</dd>
            <dt>Prediction</dt>
            <dd data-testid="model-prediction" data-prediction={model.predictionType}>
              {predictionUnsure ? <span className="badge badge--warn">{predictionLabel(model)}</span> : predictionLabel(model)}
            </dd>
            <dt>Format</dt>
            <dd className="mono">{model.format}</dd>
            <dt>Size</dt>
            <dd>
              {formatBytes(model.size)} <span className="muted">({formatCount(model.size)} bytes)</span>
            </dd>
            <dt>Tensors</dt>
            <dd>{formatCount(model.tensorCount)}</dd>
            <dt>Parameters</dt>
            <dd>
              {formatParameters(model.parameterCount)} <span className="muted">({formatCount(model.parameterCount)})</span>
            </dd>
            <dt>Added</dt>
            <dd>
              <Time iso={model.createdAt} />
            </dd>
          </dl>
        </div>
      </div>

      <div className="subsection">
        <h3 className="subsection__title">Hashes</h3>
        <dl className="facts facts--hashes" data-testid="model-hashes">
          <dt>SHA-256</dt>
          <dd className="hash-row">
            <code className="hash" data-testid="model-sha256">
              {model.hashes.sha256}
            </code>
            <CopyButton value={model.hashes.sha256} what="SHA-256" testId="model-copy-sha256" />
          </dd>
          <Hash label="AutoV2" value={model.hashes.autoV2} testId="model-autov2" />
          <Hash label="AutoV1" value={model.hashes.autoV1} testId="model-autov1" />
          <Hash label="sshs model hash" value={model.hashes.sshsModelHash} testId="model-sshs" />
        </dl>
      </div>

      {model.lora ? <Lora lora={model.lora} /> : null}

      {model.files.length > 1 ? <Files files={model.files} /> : null}

      <ModelCivitai model={model} onChanged={onChanged} />

      <div className="subsection" data-testid="model-provenance">
        <h3 className="subsection__title">Provenance</h3>
        <dl className="facts">
          <dt>Source</dt>
          <dd data-source={model.source.type}>{SOURCE_LABELS[model.source.type] ?? model.source.type}</dd>
          {converted ? (
            <>
              <dt>Converted</dt>
              <dd data-testid="model-converted">
                to safetensors from <span className="mono">{converted.from}</span>
                <span className="muted"> — without running any of the original file’s code</span>
              </dd>
              <dt>Original file</dt>
              <dd className="mono table__wrap">{converted.originalName}</dd>
              <dt>Original SHA-256</dt>
              <dd className="hash-row">
                <code className="hash" data-testid="model-original-sha256">
                  {converted.originalSha256}
                </code>
                <CopyButton value={converted.originalSha256} what="original SHA-256" testId="model-copy-original-sha256" />
              </dd>
            </>
          ) : null}
        </dl>
        {model.source.provenance ? <Provenance provenance={model.source.provenance} /> : null}
        <details className="evidence" data-testid="model-evidence">
          <summary>
            How the studio identified this model <span className="muted">({formatCount(model.evidence.length)})</span>
          </summary>
          {model.evidence.length === 0 ? (
            <p className="muted">No evidence recorded.</p>
          ) : (
            <ul className="evidence__list">
              {model.evidence.map((line, index) => (
                <li key={index}>{line}</li>
              ))}
            </ul>
          )}
        </details>
      </div>

      <HeaderTables id={model.id} />
    </Section>
  );
}

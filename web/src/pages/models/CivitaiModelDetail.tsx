import { useEffect, useRef, useState } from 'react';
import { apiPath } from '../../api.ts';
import { DataTable, SIZE } from '../../components/DataTable.tsx';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { Section } from '../../components/Section.tsx';
import { formatBytes, formatCount } from '../../format.ts';
import { useJson } from '../../hooks/useJson.ts';
import { civitaiModelUrl, type CivitaiFile, type CivitaiSummary, type CivitaiVersion } from './hub.ts';
import { HubLink } from './HubLink.tsx';
import { PULL_COLUMN, PullButton } from './PullButton.tsx';
import type { Downloads } from './useDownloads.ts';

function sha256Of(file: CivitaiFile): string | null {
  const value = file.hashes.SHA256 ?? file.hashes.sha256 ?? null;
  return value !== null && /^[0-9a-fA-F]{64}$/.test(value) ? value.toLowerCase() : null;
}

function ScanResult({ label, value }: { label: string; value: string | null }) {
  const lower = value?.toLowerCase() ?? '';
  const tone = lower === 'success' ? 'badge--neutral' : lower === '' || lower === 'pending' ? 'badge--neutral' : 'badge--warn';
  return (
    <span className="scan-result">
      <span className="muted">{label} </span>
      <span className={`badge ${tone}`}>{value ?? 'not reported'}</span>
    </span>
  );
}

function VersionFiles({ versionId, downloads, onPulled }: { versionId: number; downloads: Downloads; onPulled: (version: CivitaiVersion) => void }) {
  const { data, error, reload } = useJson<CivitaiVersion>(apiPath('/api/hub/civitai/versions', String(versionId)));
  if (error) return <ErrorBanner error={error} onRetry={reload} />;
  if (!data) return <Loading label="Reading the version…" />;
  return (
    <div className="civitai-version" data-testid={`civitai-version-${data.id}`}>
      <dl className="facts">
        <dt>Version</dt>
        <dd>
          {data.name ?? <span className="muted">unnamed</span>} <span className="mono muted">#{data.id}</span>
        </dd>
        <dt>Base model</dt>
        <dd>{data.baseModel ?? <span className="muted">not given</span>}</dd>
        {data.modelType ? (
          <>
            <dt>Type</dt>
            <dd>{data.modelType}</dd>
          </>
        ) : null}
        {data.trainedWords.length > 0 ? (
          <>
            <dt>Trigger words</dt>
            <dd>
              <ul className="words">
                {data.trainedWords.slice(0, 40).map((word, index) => (
                  <li key={`${index}:${word}`} className="words__item mono">
                    {word}
                  </li>
                ))}
              </ul>
            </dd>
          </>
        ) : null}
      </dl>
      {data.files.length === 0 ? (
        <p className="muted">This version lists no files.</p>
      ) : (
        <DataTable
          columns={['File', SIZE, 'Format', 'SHA-256', 'Civitai’s scans', PULL_COLUMN]}
          className="table--files"
          testId="civitai-files"
        >
          {data.files.map((file) => {
            const sha = sha256Of(file);
            return (
              <tr key={file.id} data-testid={`civitai-file-${file.id}`}>
                <td className="files__path">
                  <span className="mono">{file.name}</span>
                  <div className="table__sub">
                    {file.type ? <span className="muted">{file.type}</span> : null}
                    {file.primary ? <span className="badge badge--info badge--inline">primary</span> : null}
                  </div>
                </td>
                <td className="num nowrap">{formatBytes(file.sizeKB * 1024)}</td>
                <td className="nowrap">
                  {file.format ?? <span className="muted">—</span>}
                  {file.fp ? <span className="muted"> · {file.fp}</span> : null}
                </td>
                <td>
                  {sha ? (
                    <span className="digest" title={`SHA-256 ${sha}`}>
                      <code className="digest__value">{sha.slice(0, 12)}…</code>
                    </span>
                  ) : (
                    <span className="badge badge--warn" title="The pull will wait for your confirmation before anything enters the library.">
                      none listed
                    </span>
                  )}
                </td>
                <td>
                  <div className="scan-results">
                    <ScanResult label="pickle" value={file.pickleScanResult} />
                    <ScanResult label="virus" value={file.virusScanResult} />
                  </div>
                </td>
                <td className="table__actions">
                  <PullButton
                    body={{ source: file.source }}
                    downloads={downloads}
                    what={file.name}
                    testId={`pull-${file.id}`}
                    onStarted={() => onPulled(data)}
                  />
                </td>
              </tr>
            );
          })}
        </DataTable>
      )}
      {data.files.some((file) => sha256Of(file) === null) ? (
        <p className="muted hint-line">
          A file without a listed SHA-256 cannot be verified: its pull stops at <em>awaiting confirmation</em>, in quarantine, until
          you confirm or discard it.
        </p>
      ) : null}
    </div>
  );
}

interface Props {
  summary: CivitaiSummary;
  downloads: Downloads;
  reveal: boolean;
  /** A pull started from a version: remember its model (for the licence link if it fails). */
  onPulled: (version: CivitaiVersion) => void;
}

/** A Civitai model's versions; the chosen one's files, each with a Pull button. */
export function CivitaiModelDetail({ summary, downloads, reveal, onPulled }: Props) {
  const [versionId, setVersionId] = useState<number | null>(summary.versions[0]?.id ?? null);
  const ref = useRef<HTMLDivElement>(null);
  const url = civitaiModelUrl(summary.id);

  useEffect(() => {
    if (!reveal) return;
    ref.current?.scrollIntoView({ behavior: 'smooth', block: 'start' });
    ref.current?.querySelector<HTMLElement>('h2')?.focus({ preventScroll: true });
  }, [reveal]);

  return (
    <div ref={ref} className="find-detail">
      <Section
        id="civitai-model"
        title={summary.name}
        focusableHeading
        testId="civitai-model"
        description={
          <>
            Civitai · {summary.type ?? 'unknown type'} · by {summary.creator ?? 'unknown'} · {formatCount(summary.downloads)} downloads
          </>
        }
        actions={
          <>
            {summary.nsfw ? <span className="badge badge--warn">NSFW</span> : null}
            {url ? <HubLink url={url}>Open on civitai.com</HubLink> : null}
          </>
        }
      >
        <p className="hub-note" data-testid="hub-scan-note">
          Sizes, hashes and Civitai’s pickle and virus scan results come from Civitai and are shown for information. Every pull is
          checked against the listed SHA-256 — and <strong>the studio scans every file itself</strong>, whatever Civitai’s scan says.
        </p>
        {summary.versions.length === 0 ? (
          <p className="muted">This model lists no versions.</p>
        ) : (
          <>
            <div className="chips" role="group" aria-label="Versions" data-testid="civitai-versions">
              {summary.versions.map((version) => (
                <button
                  key={version.id}
                  type="button"
                  className="chip"
                  aria-pressed={version.id === versionId}
                  onClick={() => setVersionId(version.id)}
                  data-testid={`civitai-version-chip-${version.id}`}
                >
                  {version.name ?? `#${version.id}`}
                  {version.baseModel ? <span className="chip__count">{version.baseModel}</span> : null}
                </button>
              ))}
            </div>
            {versionId !== null ? <VersionFiles key={versionId} versionId={versionId} downloads={downloads} onPulled={onPulled} /> : null}
          </>
        )}
      </Section>
    </div>
  );
}

import { useEffect, useMemo, useRef, useState } from 'react';
import { DataTable, SIZE } from '../../components/DataTable.tsx';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { Section } from '../../components/Section.tsx';
import { TextField } from '../../components/TextField.tsx';
import { Time } from '../../components/Time.tsx';
import { formatBytes, formatCount } from '../../format.ts';
import { useJson } from '../../hooks/useJson.ts';
import { HubLink, TokenHint, type TokenState } from './HubLink.tsx';
import { foldersOf, guessFormat, hfBaseModels, hfRepoUrl, matchesAny, shortRevision, splitGlobs, type HfFile, type HfFilesResponse, type HfSummary } from './hub.ts';
import { PULL_COLUMN, PullButton } from './PullButton.tsx';
import type { Downloads } from './useDownloads.ts';

const MAX_SELECTION = 200;
const MAX_GLOBS = 32;
const ROW_LIMIT = 500;

function Digest({ file }: { file: HfFile }) {
  if (file.lfsSha256) {
    return (
      <span className="digest" title={`SHA-256 ${file.lfsSha256}`}>
        <span className="digest__kind">SHA-256</span>
        <code className="digest__value">{file.lfsSha256.slice(0, 12)}…</code>
      </span>
    );
  }
  if (file.gitBlobId) {
    return (
      <span className="digest" title={`git blob id ${file.gitBlobId}`}>
        <span className="digest__kind">git blob</span>
        <code className="digest__value">{file.gitBlobId.slice(0, 12)}…</code>
      </span>
    );
  }
  return <span className="badge badge--warn">no digest</span>;
}

function ScanStatus({ status }: { status: string | null }) {
  if (status === null || status === '') return <span className="muted">—</span>;
  const lower = status.toLowerCase();
  const tone = lower === 'safe' || lower === 'clean' ? 'badge--neutral' : lower === 'unscanned' || lower === 'pending' ? 'badge--neutral' : 'badge--warn';
  return (
    <span className={`badge ${tone}`} title="The Hub’s own scan, shown for information; the studio scans every file itself.">
      {status}
    </span>
  );
}

function FolderPull({ repo, commit, files, downloads }: { repo: string; commit: string; files: HfFile[]; downloads: Downloads }) {
  const folders = useMemo(() => foldersOf(files.map((f) => f.path)), [files]);
  const [folder, setFolder] = useState('');
  const [include, setInclude] = useState('*.safetensors');
  const globs = useMemo(() => splitGlobs(include), [include]);
  const prefix = folder === '' ? '' : `${folder}/`;
  const matched = useMemo(
    () => files.filter((f) => f.path.startsWith(prefix) && matchesAny(f.path.slice(prefix.length), globs)),
    [files, prefix, globs],
  );
  const bytes = matched.reduce((sum, f) => sum + f.size, 0);
  const tooMany = matched.length > MAX_SELECTION;
  const badGlobs = globs.length > MAX_GLOBS || globs.some((g) => g.length > 256);
  const nonModel = matched.filter((f) => guessFormat(f.path).tone === 'none').length;
  const source = `hf:${repo}@${commit}:${prefix}`;
  const testId = `pull-${prefix === '' ? '/' : prefix}`;

  return (
    <div className="subsection" data-testid="hf-folder-pull">
      <h3 className="subsection__title">Pull a folder or a selection</h3>
      <p className="muted hint-line">
        The matching files become <strong>one library entry</strong> — a diffusers pipeline, a tagger (<code>model.onnx</code> +{' '}
        <code>selected_tags.csv</code>) or a set of weights — each file verified against its own digest. Configs and text files come
        along; every weight file is scanned, and one refused file refuses the whole selection. Include patterns narrow it:{' '}
        <code>*.safetensors</code>, <code>*.safetensors *.json *.txt</code> for a pipeline, <code>unet/*</code>, <code>**/*.gguf</code> (comma
        or space separated; a pattern without <code>/</code> matches the file name).
      </p>
      <div className="inline-form">
        <label className="label" htmlFor="hf-folder">
          Folder
        </label>
        <select id="hf-folder" className="input select" value={folder} onChange={(e) => setFolder(e.target.value)} data-testid="hf-folder">
          <option value="">/ (whole repository)</option>
          {folders.map((f) => (
            <option key={f} value={f}>
              {f}/
            </option>
          ))}
        </select>
        <label className="label" htmlFor="hf-include">
          Include
        </label>
        <input
          id="hf-include"
          className="input input--mono input--wide"
          value={include}
          onChange={(e) => setInclude(e.target.value)}
          placeholder="*.safetensors (empty: every file)"
          autoComplete="off"
          spellCheck={false}
          data-testid="hf-include"
        />
      </div>
      <div className="pull-selection">
        <p className={tooMany || matched.length === 0 || badGlobs ? 'pull-selection__count pull-selection__count--bad' : 'pull-selection__count'} data-testid="hf-selection-count" data-count={matched.length}>
          {badGlobs
            ? `At most ${MAX_GLOBS} patterns of up to 256 characters.`
            : matched.length === 0
              ? 'No file matches.'
              : `${formatCount(matched.length)} ${matched.length === 1 ? 'file' : 'files'}, ${formatBytes(bytes)}${tooMany ? ` — a pull takes at most ${MAX_SELECTION} files` : ''}`}
          {nonModel > 0 && !tooMany && !badGlobs ? <span className="muted"> · {nonModel} of them companion files (configs, text), kept with the entry</span> : null}
        </p>
        <PullButton
          body={{ source, ...(globs.length > 0 ? { include: globs } : {}) }}
          downloads={downloads}
          what={`${matched.length} files from ${prefix === '' ? 'the repository' : prefix} as one entry`}
          label="Pull selection"
          disabled={matched.length === 0 || tooMany || badGlobs}
          testId={testId}
        />
      </div>
    </div>
  );
}

interface Props {
  summary: HfSummary;
  downloads: Downloads;
  tokens: TokenState;
  reveal: boolean;
}

/** A Hugging Face repository's files at the commit `main` resolves to, each with a Pull button. */
export function HfRepoDetail({ summary, downloads, tokens, reveal }: Props) {
  const repo = summary.id;
  const { data, error, loading, reload } = useJson<HfFilesResponse>(`/api/hub/hf/files?repo=${encodeURIComponent(repo)}`);
  const [filter, setFilter] = useState('');
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!reveal) return;
    ref.current?.scrollIntoView({ behavior: 'smooth', block: 'start' });
    ref.current?.querySelector<HTMLElement>('h2')?.focus({ preventScroll: true });
  }, [reveal]);

  const files = data?.files;
  const q = filter.trim().toLowerCase();
  const shown = useMemo(() => (files ?? []).filter((f) => q === '' || f.path.toLowerCase().includes(q)), [files, q]);
  const url = hfRepoUrl(repo);
  const bases = hfBaseModels(summary.tags);
  const total = (files ?? []).reduce((sum, f) => sum + f.size, 0);

  return (
    <div ref={ref} className="find-detail">
      <Section
        id="hf-repo"
        title={repo}
        focusableHeading
        testId="hf-repo"
        description={
          <>
            Hugging Face
            {data ? (
              <>
                {' '}
                · commit <span className="mono">{shortRevision(data.commit)}</span> ({data.revision})
              </>
            ) : null}{' '}
            · updated <Time iso={summary.updatedAt} />
            {bases.length > 0 ? (
              <>
                {' '}
                · base <span className="mono">{bases.join(', ')}</span>
              </>
            ) : null}
          </>
        }
        actions={
          <>
            {summary.gated ? <span className="badge badge--warn">gated</span> : null}
            {summary.private ? <span className="badge badge--warn">private</span> : null}
            {url ? (
              <HubLink url={url}>Open on huggingface.co</HubLink>
            ) : null}
          </>
        }
      >
        {summary.gated || summary.private ? (
          <TokenHint hub="hf" present={tokens.present.hf} gated={summary.gated} repoUrl={url} />
        ) : null}
        <p className="hub-note" data-testid="hub-scan-note">
          Sizes, digests and the Hub’s scan status come from Hugging Face and are shown for information. Every pull is pinned to the
          commit above, checked against the listed SHA-256 (or git blob id) — and <strong>the studio scans every file itself</strong>,
          whatever the Hub’s scan says.
        </p>
        <ErrorBanner error={error} onRetry={reload} />
        {files === undefined ? (
          error ? null : <Loading label="Listing the repository…" />
        ) : files.length === 0 ? (
          <p className="muted">This repository has no files.</p>
        ) : (
          <>
            <div className="filters">
              <span className="muted" data-testid="hf-files-count">
                {q === '' ? `${formatCount(files.length)} files` : `${formatCount(shown.length)} of ${formatCount(files.length)} files`}, {formatBytes(total)} in all
                {loading ? ' · refreshing…' : ''}
              </span>
              <div className="filters__fields">
                <TextField
                  id="hf-files-filter"
                  label="Path contains"
                  labelClassName="visually-hidden"
                  type="search"
                  className="input"
                  value={filter}
                  onChange={setFilter}
                  placeholder="Filter by path"
                  testId="hf-files-filter"
                />
              </div>
            </div>
            <DataTable
              columns={['Path', SIZE, 'Digest', 'Format (by name)', 'Hub scan', PULL_COLUMN]}
              className="table--sticky table--files"
              testId="hf-files"
              scrollClassName="table-scroll--tall"
              empty={shown.length === 0 ? 'No file matches.' : null}
            >
              {shown.slice(0, ROW_LIMIT).map((file) => {
                const guess = guessFormat(file.path);
                return (
                  <tr key={file.path} data-testid={`hf-file-${file.path}`}>
                    <td className="files__path mono">{file.path}</td>
                    <td className="num nowrap">{formatBytes(file.size)}</td>
                    <td>
                      <Digest file={file} />
                    </td>
                    <td>
                      <span className={`format format--${guess.tone}`}>{guess.label}</span>
                    </td>
                    <td>
                      <ScanStatus status={file.hubScanStatus} />
                    </td>
                    <td className="table__actions">
                      <PullButton body={{ source: file.source }} downloads={downloads} what={file.path} testId={`pull-${file.path}`} />
                    </td>
                  </tr>
                );
              })}
            </DataTable>
            {shown.length > ROW_LIMIT ? (
              <p className="muted table__note">
                Showing the first {ROW_LIMIT} of {formatCount(shown.length)} files; filter by path to find the others.
              </p>
            ) : null}
            {data ? <FolderPull repo={data.repo} commit={data.commit} files={files} downloads={downloads} /> : null}
          </>
        )}
      </Section>
    </div>
  );
}

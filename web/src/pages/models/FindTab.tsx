import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api, toApiError, type ApiError } from '../../api.ts';
import { DataTable, type Column } from '../../components/DataTable.tsx';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Section } from '../../components/Section.tsx';
import { SelectableRow } from '../../components/SelectableRow.tsx';
import { TextField } from '../../components/TextField.tsx';
import { Time } from '../../components/Time.tsx';
import { formatCount } from '../../format.ts';
import { useJson } from '../../hooks/useJson.ts';
import type { SecretEntry } from '../../types.ts';
import { CivitaiModelDetail } from './CivitaiModelDetail.tsx';
import { DownloadsSection } from './DownloadsSection.tsx';
import { HfRepoDetail } from './HfRepoDetail.tsx';
import { hfBaseModels, hfTypeTags, type CivitaiSummary, type CivitaiVersion, type HfSummary, type Provider, type SearchResponse } from './hub.ts';
import { TokenNote, type TokenState } from './HubLink.tsx';
import { useDownloads } from './useDownloads.ts';

const LIMIT = 30;

const HF_TAGS = ['lora', 'diffusers', 'safetensors', 'gguf', 'text-to-image', 'stable-diffusion-xl', 'flux'];
const CIVITAI_TYPES: Array<{ value: string; label: string }> = [
  { value: 'Checkpoint', label: 'Checkpoint' },
  { value: 'LORA', label: 'LoRA' },
  { value: 'VAE', label: 'VAE' },
  { value: 'TextualInversion', label: 'Embedding (TextualInversion)' },
];
const CIVITAI_BASES = ['SD 1.5', 'SD 2.1', 'SDXL 1.0', 'Pony', 'Illustrious', 'NoobAI', 'SD 3.5', 'Flux.1 D', 'Flux.1 S', 'Chroma', 'Lumina'];
const SORTS: Record<Provider, Array<{ value: string; label: string }>> = {
  hf: [
    { value: 'downloads', label: 'Most downloaded' },
    { value: 'recent', label: 'Recently updated' },
    { value: 'likes', label: 'Most liked' },
  ],
  civitai: [
    { value: 'downloads', label: 'Most downloaded' },
    { value: 'recent', label: 'Newest' },
    { value: 'rating', label: 'Highest rated' },
  ],
};

interface Filters {
  provider: Provider;
  q: string;
  tag: string;
  type: string;
  baseModel: string;
  sort: string;
  nsfw: boolean;
}

const INITIAL: Filters = { provider: 'hf', q: '', tag: '', type: '', baseModel: '', sort: 'downloads', nsfw: false };

function searchPath(f: Filters): string {
  const params = new URLSearchParams({ provider: f.provider, q: f.q.trim(), limit: String(LIMIT), sort: f.sort });
  const type = f.provider === 'hf' ? f.tag.trim() : f.type;
  if (type !== '') params.set('type', type);
  if (f.baseModel.trim() !== '') params.set('baseModel', f.baseModel.trim());
  if (f.provider === 'civitai') params.set('nsfw', String(f.nsfw));
  return `/api/hub/search?${params.toString()}`;
}

type Selected = { provider: 'hf'; summary: HfSummary } | { provider: 'civitai'; summary: CivitaiSummary };

function splitRepo(id: string): { author: string; name: string } {
  const slash = id.indexOf('/');
  return slash === -1 ? { author: '', name: id } : { author: id.slice(0, slash), name: id.slice(slash + 1) };
}

function uniqueBases(summary: CivitaiSummary): string[] {
  const bases: string[] = [];
  for (const version of summary.versions) if (version.baseModel && !bases.includes(version.baseModel)) bases.push(version.baseModel);
  return bases;
}

function HfResults({ results, selected, onSelect }: { results: HfSummary[]; selected: string | null; onSelect: (index: number) => void }) {
  return (
    <>
      {results.map((r, index) => {
        const { author, name } = splitRepo(r.id);
        const bases = hfBaseModels(r.tags);
        return (
          <SelectableRow
            key={r.id}
            selected={selected === r.id}
            onSelect={() => onSelect(index)}
            testId={`find-result-${index}`}
            nameClassName="results__name"
            name={name}
            sub={
              r.gated || r.private ? (
                <div className="table__sub models__badges">
                  {r.gated ? <span className="badge badge--warn">gated</span> : null}
                  {r.private ? <span className="badge badge--warn">private</span> : null}
                </div>
              ) : null
            }
          >
            <td className="table__wrap">{author || <span className="muted">—</span>}</td>
            <td>
              {r.pipelineTag ? <span className="nowrap">{r.pipelineTag}</span> : null}
              {hfTypeTags(r).length > 0 ? (
                <div className="table__sub models__badges">
                  {hfTypeTags(r).map((tag) => (
                    <span key={tag} className="badge badge--neutral">
                      {tag}
                    </span>
                  ))}
                </div>
              ) : r.pipelineTag ? null : (
                <span className="muted">—</span>
              )}
            </td>
            <td className="results__base mono">{bases.length > 0 ? bases.slice(0, 2).join(', ') : <span className="muted">—</span>}</td>
            <td className="num">{formatCount(r.downloads)}</td>
            <td className="num">{formatCount(r.likes)}</td>
            <td className="nowrap">
              <Time iso={r.updatedAt} />
            </td>
          </SelectableRow>
        );
      })}
    </>
  );
}

function CivitaiResults({ results, selected, onSelect }: { results: CivitaiSummary[]; selected: number | null; onSelect: (index: number) => void }) {
  return (
    <>
      {results.map((r, index) => {
        const bases = uniqueBases(r);
        return (
          <SelectableRow
            key={r.id}
            selected={selected === r.id}
            onSelect={() => onSelect(index)}
            testId={`find-result-${index}`}
            nameClassName="results__name"
            name={r.name}
            sub={
              r.nsfw ? (
                <div className="table__sub">
                  <span className="badge badge--warn">NSFW</span>
                </div>
              ) : null
            }
          >
            <td className="table__wrap">{r.creator ?? <span className="muted">—</span>}</td>
            <td className="nowrap">{r.type ?? <span className="muted">—</span>}</td>
            <td className="results__base">{bases.length > 0 ? bases.slice(0, 3).join(', ') : <span className="muted">—</span>}</td>
            <td className="num">{formatCount(r.downloads)}</td>
            <td className="num">{formatCount(r.versions.length)}</td>
          </SelectableRow>
        );
      })}
    </>
  );
}

const DOWNLOADS: Column = { label: 'Downloads', className: 'num' };
const HF_COLUMNS = ['Repository', 'Author', 'Type', 'Base model', DOWNLOADS, { label: 'Likes', className: 'num' }, 'Updated'];
const CIVITAI_COLUMNS = ['Model', 'Creator', 'Type', 'Base model', DOWNLOADS, { label: 'Versions', className: 'num' }];

interface Props {
  /** Open a stored model in the Library tab. */
  onOpenModel: (id: string) => void;
}

/** Models → Find: search Hugging Face or Civitai, look at a model's files, pull them, follow the downloads. */
export function FindTab({ onOpenModel }: Props) {
  const [filters, setFilters] = useState<Filters>(INITIAL);
  const [response, setResponse] = useState<SearchResponse | null>(null);
  const [searching, setSearching] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [selected, setSelected] = useState<Selected | null>(null);
  const [reveal, setReveal] = useState(false);
  const [civitaiModels, setCivitaiModels] = useState<ReadonlyMap<string, number>>(() => new Map());
  const controller = useRef<AbortController | null>(null);
  const downloads = useDownloads();
  const secrets = useJson<{ secrets: SecretEntry[] }>('/api/secrets');
  const tokens: TokenState = {
    present: Object.fromEntries((secrets.data?.secrets ?? []).map((s) => [s.name, s.present])),
  };

  useEffect(() => () => controller.current?.abort(), []);

  const set = <K extends keyof Filters>(key: K, value: Filters[K]) => setFilters((current) => ({ ...current, [key]: value }));

  const setProvider = (provider: Provider) => {
    if (provider === filters.provider) return;
    controller.current?.abort();
    setFilters((current) => ({ ...current, provider, tag: '', type: '', baseModel: '', sort: 'downloads' }));
    setResponse(null);
    setSelected(null);
    setError(null);
    setSearching(false);
  };

  const search = async () => {
    controller.current?.abort();
    const abort = new AbortController();
    controller.current = abort;
    setSearching(true);
    setError(null);
    try {
      const result = await api.get<SearchResponse>(searchPath(filters), { signal: abort.signal });
      setResponse(result);
      setSelected(null);
    } catch (cause) {
      if (abort.signal.aborted) return;
      setError(toApiError(cause));
    } finally {
      if (controller.current === abort) {
        controller.current = null;
        setSearching(false);
      }
    }
  };

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    void search();
  };

  const select = (index: number) => {
    if (!response) return;
    setReveal(true);
    if (response.provider === 'hf') {
      const summary = response.results[index];
      if (summary) setSelected({ provider: 'hf', summary });
    } else {
      const summary = response.results[index];
      if (summary) setSelected({ provider: 'civitai', summary });
    }
  };

  const onCivitaiPulled = useCallback((version: CivitaiVersion) => {
    setCivitaiModels((current) => (current.get(String(version.id)) === version.modelId ? current : new Map(current).set(String(version.id), version.modelId)));
  }, []);

  const provider = filters.provider;
  const count = response?.results.length ?? 0;

  return (
    <div className="stack">
      <Section
        id="model-find"
        title="Find on a hub"
        description="Search Hugging Face or Civitai. What a hub sends — names, tags, file names — is shown as text; pulls are checked, scanned and converted like every import."
        actions={
          response ? (
            <span className="muted nowrap" data-testid="find-count">
              {count === LIMIT ? `first ${LIMIT} results` : `${formatCount(count)} ${count === 1 ? 'result' : 'results'}`}
            </span>
          ) : null
        }
        testId="find"
      >
        <form className="find-form" onSubmit={onSubmit} role="search" aria-label="Search a hub">
          <div className="find-form__main">
            <label className="visually-hidden" htmlFor="find-provider">
              Hub
            </label>
            <select
              id="find-provider"
              className="input select find-form__provider"
              value={provider}
              onChange={(e) => setProvider(e.target.value === 'civitai' ? 'civitai' : 'hf')}
              data-testid="find-provider"
            >
              <option value="hf">Hugging Face</option>
              <option value="civitai">Civitai</option>
            </select>
            <TextField
              id="find-query"
              label="Search"
              labelClassName="visually-hidden"
              type="search"
              className="input input--wide"
              value={filters.q}
              maxLength={200}
              onChange={(value) => set('q', value)}
              placeholder={provider === 'hf' ? 'Search models, e.g. sdxl lora' : 'Search models, e.g. watercolor'}
              testId="find-query"
            />
            <button type="submit" className="button" disabled={searching} data-testid="find-search">
              {searching ? 'Searching…' : 'Search'}
            </button>
          </div>
          <div className="find-form__filters">
            {provider === 'hf' ? (
              <label className="find-field">
                <span className="find-field__label">Tag</span>
                <input
                  className="input input--mono"
                  list="find-hf-tags"
                  value={filters.tag}
                  maxLength={100}
                  onChange={(e) => set('tag', e.target.value)}
                  placeholder="any, e.g. lora"
                  autoComplete="off"
                  spellCheck={false}
                  data-testid="find-tag"
                />
                <datalist id="find-hf-tags">
                  {HF_TAGS.map((tag) => (
                    <option key={tag} value={tag} />
                  ))}
                </datalist>
              </label>
            ) : (
              <label className="find-field">
                <span className="find-field__label">Type</span>
                <select className="input select" value={filters.type} onChange={(e) => set('type', e.target.value)} data-testid="find-type">
                  <option value="">Any type</option>
                  {CIVITAI_TYPES.map((t) => (
                    <option key={t.value} value={t.value}>
                      {t.label}
                    </option>
                  ))}
                </select>
              </label>
            )}
            <label className="find-field">
              <span className="find-field__label">Base model</span>
              <input
                className={provider === 'hf' ? 'input input--mono find-field__base' : 'input find-field__base'}
                list={provider === 'civitai' ? 'find-civitai-bases' : undefined}
                value={filters.baseModel}
                maxLength={200}
                onChange={(e) => set('baseModel', e.target.value)}
                placeholder={provider === 'hf' ? 'any, e.g. stabilityai/stable-diffusion-xl-base-1.0' : 'any, e.g. SDXL 1.0'}
                autoComplete="off"
                spellCheck={false}
                data-testid="find-base-model"
              />
              {provider === 'civitai' ? (
                <datalist id="find-civitai-bases">
                  {CIVITAI_BASES.map((base) => (
                    <option key={base} value={base} />
                  ))}
                </datalist>
              ) : null}
            </label>
            <label className="find-field">
              <span className="find-field__label">Sort</span>
              <select className="input select" value={filters.sort} onChange={(e) => set('sort', e.target.value)} data-testid="find-sort">
                {SORTS[provider].map((s) => (
                  <option key={s.value} value={s.value}>
                    {s.label}
                  </option>
                ))}
              </select>
            </label>
            {provider === 'civitai' ? (
              <label className="checkbox find-field__check">
                <input type="checkbox" checked={filters.nsfw} onChange={(e) => set('nsfw', e.target.checked)} data-testid="find-nsfw" />
                Include NSFW models
              </label>
            ) : null}
          </div>
        </form>
        {tokens.present[provider] === false ? <TokenNote hub={provider} className="muted hint-line" /> : null}
        <ErrorBanner error={error} onRetry={() => void search()} onDismiss={() => setError(null)} />
        {response === null ? (
          searching ? null : (
            <p className="muted" data-testid="find-idle">
              {provider === 'hf'
                ? 'Search by name, narrow by a tag such as lora or diffusers, or by the base model a repository names.'
                : 'Search by name, narrow by type and base model. NSFW models stay hidden unless you include them.'}
            </p>
          )
        ) : response.results.length === 0 ? (
          <p className="muted" data-testid="find-results-empty">
            No model matches this search.
          </p>
        ) : (
          <DataTable
            key={response.provider}
            columns={response.provider === 'hf' ? HF_COLUMNS : CIVITAI_COLUMNS}
            className="table--results"
            testId="find-results"
            data={{ 'data-provider': response.provider }}
            busy={searching}
          >
            {response.provider === 'hf' ? (
              <HfResults results={response.results} selected={selected?.provider === 'hf' ? selected.summary.id : null} onSelect={select} />
            ) : (
              <CivitaiResults results={response.results} selected={selected?.provider === 'civitai' ? selected.summary.id : null} onSelect={select} />
            )}
          </DataTable>
        )}
      </Section>

      {selected?.provider === 'hf' ? (
        <HfRepoDetail key={selected.summary.id} summary={selected.summary} downloads={downloads} tokens={tokens} reveal={reveal} />
      ) : selected?.provider === 'civitai' ? (
        <CivitaiModelDetail
          key={selected.summary.id}
          summary={selected.summary}
          downloads={downloads}
          reveal={reveal}
          onPulled={onCivitaiPulled}
        />
      ) : null}

      <DownloadsSection downloads={downloads} tokens={tokens} civitaiModels={civitaiModels} onOpenModel={onOpenModel} />
    </div>
  );
}

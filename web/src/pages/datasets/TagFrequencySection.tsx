import { useDeferredValue, useMemo, useState } from 'react';
import { DataTable } from '../../components/DataTable.tsx';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { Section } from '../../components/Section.tsx';
import { TextField } from '../../components/TextField.tsx';
import { formatCount } from '../../format.ts';
import { useJson } from '../../hooks/useJson.ts';
import { plural } from './labels.ts';
import { datasetPath } from './paths.ts';
import { SubsetSelect } from './SubsetSelect.tsx';
import type { DatasetDetail, TagFrequency } from './types.ts';
import type { TagFilter } from './useTagFilter.ts';
import { useReloadOn } from './useReloadOn.ts';

/** Rows in the page at once; the search narrows down the rest. */
const ROWS = 300;

interface Props {
  dataset: DatasetDetail;
  version: number;
  filter: TagFilter;
  onToggleFilter: (tag: string, mode: 'all' | 'none') => void;
}

/** How many images carry each tag; a tag filters the gallery to images with it (or, with "lacks", without it). */
export function TagFrequencySection({ dataset, version, filter, onToggleFilter }: Props) {
  const [subset, setSubset] = useState('');
  const [query, setQuery] = useState('');
  const deferred = useDeferredValue(query);
  const path = subset === '' ? datasetPath(dataset.name, 'tags') : `${datasetPath(dataset.name, 'tags')}?${new URLSearchParams({ subset }).toString()}`;
  const { data, error, reload } = useJson<TagFrequency>(path);
  useReloadOn(version, reload);

  const q = deferred.trim().toLowerCase();
  const matching = useMemo(() => (data ? (q === '' ? data.tags : data.tags.filter((t) => t.tag.toLowerCase().includes(q))) : []), [data, q]);
  const rows = matching.slice(0, ROWS);

  return (
    <Section
      id="dataset-tags"
      testId="tag-frequency"
      title="Tags"
      description="How many images carry each tag. Click a tag to show only images with it; “lacks” shows those without."
      actions={data ? <span className="muted nowrap">{plural(data.tags.length, 'tag')}</span> : null}
    >
      <div className="inline-form">
        <SubsetSelect id="tags-subset" subsets={dataset.subsets} value={subset} onChange={setSubset} testId="tags-subset" />
        <TextField
          id="tags-search"
          label="Tag contains"
          labelClassName="visually-hidden"
          type="search"
          className="input input--wide"
          value={query}
          onChange={setQuery}
          placeholder="Find a tag"
          testId="tags-search"
        />
      </div>
      <ErrorBanner error={error} onRetry={reload} />
      {data === undefined ? (
        error ? null : <Loading label="Counting tags…" />
      ) : (
        <>
          <p className="muted tags__summary" data-testid="tags-summary">
            {formatCount(data.tagged)} of {plural(data.images, 'image')} have a caption.
          </p>
          <DataTable
            columns={['Tag', { label: 'Images', className: 'num' }, { label: 'Share of images', className: 'tags__bar-col', hidden: true }, { label: 'Filter', hidden: true }]}
            className="table--sticky table--tags"
            scrollClassName="table-scroll--tall tags__scroll"
            scrollLabel="Tag frequencies"
            empty={rows.length === 0 ? (data.tags.length === 0 ? 'No captions with tags yet.' : 'No tag contains that text.') : null}
          >
            {rows.map(({ tag, images }) => {
              const has = filter.all.includes(tag);
              const lacks = filter.none.includes(tag);
              return (
                <tr key={tag} className={has || lacks ? 'table__row--selected' : undefined} data-testid={`tag-row-${tag}`}>
                  <td className="table__wrap">
                    <button
                      type="button"
                      className="link-button tags__tag"
                      onClick={() => onToggleFilter(tag, 'all')}
                      aria-pressed={has}
                      title={has ? 'Stop filtering by this tag' : 'Show only images with this tag'}
                      data-testid={`tag-filter-${tag}`}
                    >
                      {tag}
                    </button>
                  </td>
                  <td className="num">{formatCount(images)}</td>
                  <td className="tags__bar-col">
                    <progress className="bar" max={Math.max(data.images, 1)} value={images} aria-label={`${tag}: ${images} of ${data.images} images`} />
                  </td>
                  <td className="table__actions">
                    <button
                      type="button"
                      className={lacks ? 'chip chip--small chip--lacks' : 'chip chip--small'}
                      aria-pressed={lacks}
                      onClick={() => onToggleFilter(tag, 'none')}
                      title="Show only images without this tag"
                      data-testid={`tag-exclude-${tag}`}
                    >
                      lacks
                    </button>
                  </td>
                </tr>
              );
            })}
          </DataTable>
          {matching.length > rows.length ? <p className="muted table__note">{formatCount(matching.length - rows.length)} more not shown — search to find them.</p> : null}
        </>
      )}
    </Section>
  );
}

import { useCallback, useEffect, useMemo, useState } from 'react';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Section } from '../../components/Section.tsx';
import { formatCount } from '../../format.ts';
import type { CaptionCache } from './captionCache.ts';
import { CaptionEditor } from './CaptionEditor.tsx';
import { GalleryCard } from './GalleryCard.tsx';
import { imageKey } from './paths.ts';
import type { CaptionChange, DatasetDetail } from './types.ts';
import { isFiltering, NO_FILTER, useTagFilter, type TagFilter } from './useTagFilter.ts';

/** Cards in the page at once; more come with "Show more". */
const PAGE = 120;
const ALL = '';

interface Props {
  dataset: DatasetDetail;
  cache: CaptionCache;
  locked: string | null;
  selected: string | null;
  /** Changes when another panel (lint, bulk preview) selects an image: the gallery scrolls to it. */
  revealSignal: number;
  onSelect: (key: string | null) => void;
  filter: TagFilter;
  onFilterChange: (filter: TagFilter) => void;
  version: number;
  onCaptionsChanged: (changes?: readonly CaptionChange[]) => void;
}

function FilterChips({ filter, onChange }: { filter: TagFilter; onChange: (filter: TagFilter) => void }) {
  if (!isFiltering(filter)) return null;
  const remove = (tag: string) => onChange({ all: filter.all.filter((t) => t !== tag), none: filter.none.filter((t) => t !== tag) });
  return (
    <div className="chips" role="group" aria-label="Tag filter" data-testid="gallery-filter">
      {filter.all.map((tag) => (
        <button key={`all-${tag}`} type="button" className="chip chip--has" onClick={() => remove(tag)} aria-label={`Remove filter: has ${tag}`}>
          <span className="chip__count">has</span> {tag} <span aria-hidden="true">×</span>
        </button>
      ))}
      {filter.none.map((tag) => (
        <button key={`none-${tag}`} type="button" className="chip chip--lacks" onClick={() => remove(tag)} aria-label={`Remove filter: lacks ${tag}`}>
          <span className="chip__count">lacks</span> {tag} <span aria-hidden="true">×</span>
        </button>
      ))}
      <button type="button" className="link-button" onClick={() => onChange(NO_FILTER)} data-testid="gallery-filter-clear">
        Clear tag filter
      </button>
    </div>
  );
}

/** Thumbnails with their captions; a click opens the caption editor beside them. */
export function GallerySection({ dataset, cache, locked, selected, revealSignal, onSelect, filter, onFilterChange, version, onCaptionsChanged }: Props) {
  const [subset, setSubset] = useState(ALL);
  const [query, setQuery] = useState('');
  const [limit, setLimit] = useState(PAGE);
  // Unsaved editor text per image, so moving between images loses nothing.
  const [drafts, setDrafts] = useState<ReadonlyMap<string, string>>(new Map());
  const matches = useTagFilter(dataset.name, filter, version);

  const classTokens = useMemo(() => new Map(dataset.subsets.map((s) => [s.name, s.classTokens])), [dataset.subsets]);
  const q = query.trim().toLowerCase();
  const shown = useMemo(
    () =>
      dataset.images.filter(
        (image) =>
          (subset === ALL || image.subset === subset) &&
          (q === '' || image.file.toLowerCase().includes(q)) &&
          (matches.state !== 'ready' || matches.images.has(imageKey(image.subset, image.file))),
      ),
    [dataset.images, subset, q, matches],
  );
  const selectedIndex = selected === null ? -1 : shown.findIndex((image) => imageKey(image.subset, image.file) === selected);

  // A selection from another panel may sit beyond the cards in the page, or be filtered out.
  useEffect(() => {
    if (revealSignal === 0 || selected === null) return;
    if (selectedIndex >= limit) setLimit(Math.ceil((selectedIndex + 1) / PAGE) * PAGE);
    if (selectedIndex < 0) document.getElementById('caption-editor')?.scrollIntoView({ block: 'nearest' });
    // Only a new signal moves the view; later filter changes do not.
  }, [revealSignal]);

  const setDraft = useCallback((key: string, text: string | null) => {
    setDrafts((current) => {
      const next = new Map(current);
      if (text === null) next.delete(key);
      else next.set(key, text);
      return next;
    });
  }, []);

  const selectedImage = selected === null ? undefined : dataset.images.find((image) => imageKey(image.subset, image.file) === selected);
  const neighbour = (step: number): string | null => {
    const image = selectedIndex < 0 ? undefined : shown[selectedIndex + step];
    return image ? imageKey(image.subset, image.file) : null;
  };
  const narrowed = subset !== ALL || q !== '' || isFiltering(filter);

  return (
    <Section
      id="dataset-gallery"
      title="Images and captions"
      description="Select an image to edit its caption. Click tags in the tag table below to filter."
      actions={
        <span className="muted nowrap" data-testid="gallery-count" aria-live="polite">
          {narrowed ? `${formatCount(shown.length)} of ${formatCount(dataset.images.length)}` : formatCount(dataset.images.length)}{' '}
          {dataset.images.length === 1 ? 'image' : 'images'}
        </span>
      }
    >
      <div className="filters">
        <div className="filters__fields">
          <label className="visually-hidden" htmlFor="gallery-subset">
            Subset
          </label>
          <select id="gallery-subset" className="input select" value={subset} onChange={(event) => setSubset(event.target.value)} data-testid="gallery-subset">
            <option value={ALL}>All subsets</option>
            {dataset.subsets.map((s) => (
              <option key={s.name} value={s.name}>
                {s.name} ({formatCount(s.imageCount)})
              </option>
            ))}
          </select>
          <label className="visually-hidden" htmlFor="gallery-search">
            File name contains
          </label>
          <input
            id="gallery-search"
            type="search"
            className="input"
            value={query}
            onChange={(event) => setQuery(event.target.value)}
            placeholder="Filter by file name"
            autoComplete="off"
            spellCheck={false}
            data-testid="gallery-search"
          />
        </div>
        <FilterChips filter={filter} onChange={onFilterChange} />
      </div>
      {matches.state === 'error' ? <ErrorBanner error={matches.error} onDismiss={() => onFilterChange(NO_FILTER)} /> : null}

      <div className="gallery-layout">
        <div className="gallery-layout__grid">
          {dataset.images.length === 0 ? (
            <div className="empty empty--inset" data-testid="gallery-empty">
              <p className="empty__line">This dataset has no images yet.</p>
              <p>Add images above, or import a zip as a new dataset.</p>
            </div>
          ) : shown.length === 0 ? (
            <p className="muted" data-testid="gallery-none-match">
              {matches.state === 'loading' ? 'Filtering…' : 'No image matches these filters.'}
            </p>
          ) : null}
          <div className="gallery-scroll">
            <ul className="gallery" data-testid="gallery" data-count={shown.length} aria-busy={matches.state === 'loading'}>
              {shown.slice(0, limit).map((image) => {
                const key = imageKey(image.subset, image.file);
                const isSelected = key === selected;
                return (
                  <GalleryCard
                    key={key}
                    dataset={dataset.name}
                    image={image}
                    cache={cache}
                    selected={isSelected}
                    draft={drafts.has(key)}
                    reveal={isSelected ? revealSignal : 0}
                    classTokens={classTokens.get(image.subset) ?? ''}
                    onSelect={onSelect}
                  />
                );
              })}
            </ul>
            {shown.length > limit ? (
              <button type="button" className="button button--ghost gallery__more" onClick={() => setLimit((n) => n + PAGE)} data-testid="gallery-more">
                Show {formatCount(Math.min(PAGE, shown.length - limit))} more of {formatCount(shown.length - limit)}
              </button>
            ) : null}
          </div>
        </div>
        <aside className="gallery-layout__editor" aria-label="Caption editor">
          {selected !== null ? (
            <CaptionEditor
              key={selected}
              dataset={dataset.name}
              imageKey={selected}
              image={selectedImage}
              classTokens={selectedImage ? (classTokens.get(selectedImage.subset) ?? '') : ''}
              locked={locked}
              draft={drafts.get(selected) ?? null}
              onDraft={(text) => setDraft(selected, text)}
              previous={neighbour(-1)}
              next={neighbour(1)}
              onSelect={onSelect}
              onSaved={onCaptionsChanged}
              version={version}
            />
          ) : (
            <div className="caption-editor caption-editor--empty" id="caption-editor">
              <p className="muted">Select an image to see it larger and edit its caption.</p>
            </div>
          )}
        </aside>
      </div>
    </Section>
  );
}

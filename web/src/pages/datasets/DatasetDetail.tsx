import { useCallback, useEffect, useRef, useState } from 'react';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { useStudioEvent } from '../../events.tsx';
import { useJson } from '../../hooks/useJson.ts';
import { isFinalState } from '../../types.ts';
import { AutoTagSection } from './AutoTagSection.tsx';
import { BulkEditSection } from './BulkEditSection.tsx';
import { CaptionCache } from './captionCache.ts';
import { DatasetHeader } from './DatasetHeader.tsx';
import { GallerySection } from './GallerySection.tsx';
import { LintSection } from './LintSection.tsx';
import { datasetPath } from './paths.ts';
import { PlanSection } from './PlanSection.tsx';
import { TagFrequencySection } from './TagFrequencySection.tsx';
import { NO_FILTER, type TagFilter } from './useTagFilter.ts';
import type { CaptionChange, DatasetDetail as Detail, DatasetSummary } from './types.ts';

interface Props {
  summary: DatasetSummary;
  reveal: boolean;
  onClose: () => void;
  onChanged: (summary: DatasetSummary) => void;
  onRenamed: (previous: string, summary: DatasetSummary) => void;
  onDeleted: (name: string) => void;
  reloadList: () => void;
}

function summaryOf(detail: Detail): DatasetSummary {
  const { images: _images, ...summary } = detail;
  return summary;
}

/** One dataset: its subsets, gallery and caption editor, and the tools that work on its captions. */
export function DatasetDetail({ summary, reveal, onClose, onChanged, onRenamed, onDeleted, reloadList }: Props) {
  const name = summary.name;
  const detail = useJson<Detail>(datasetPath(name));
  const [cache] = useState(() => new CaptionCache(name));
  // Bumped after every caption edit: tag counts and the undo history are read again.
  const [captionVersion, setCaptionVersion] = useState(0);
  const [selectedImage, setSelectedImage] = useState<string | null>(null);
  const [revealImage, setRevealImage] = useState(0);
  const [filter, setFilter] = useState<TagFilter>(NO_FILTER);

  const data = detail.data;
  // The freshest summary from whichever answered last: the list, the dataset itself, or an edit.
  const [current, setCurrent] = useState<DatasetSummary>(summary);
  useEffect(() => setCurrent(summary), [summary]);
  useEffect(() => {
    if (!data) return;
    const next = summaryOf(data);
    setCurrent(next);
    onChanged(next);
    // onChanged is a fresh function on every parent render; only a new answer is worth passing up.
  }, [data]);
  const changed = useCallback(
    (next: DatasetSummary) => {
      setCurrent(next);
      onChanged(next);
    },
    [onChanged],
  );
  const locked = current.locked;

  const onCaptionsChanged = useCallback(
    (changes?: readonly CaptionChange[]) => {
      if (changes && changes.length === 0) return;
      if (changes) cache.apply(changes);
      else cache.clear();
      setCaptionVersion((n) => n + 1);
      // A caption that did not exist before flips the image's `caption` flag; undo may delete captions.
      if (!changes || changes.some((change) => change.before === null)) detail.reload();
    },
    [cache, detail],
  );

  const onImagesChanged = useCallback(() => {
    detail.reload();
    reloadList();
  }, [detail, reloadList]);

  // Tagging runs started here or anywhere else (the CLI, another tab) rewrite captions when they end;
  // each finished task refreshes the captions once, whichever stream reported it first.
  const taggingSeen = useRef(new Set<string>());
  const onTagged = useCallback(
    (taskId: string) => {
      if (taggingSeen.current.has(taskId)) return;
      taggingSeen.current.add(taskId);
      onCaptionsChanged();
      reloadList();
    },
    [onCaptionsChanged, reloadList],
  );
  useStudioEvent('task', (task) => {
    if (task.kind === 'dataset-tag' && isFinalState(task.state)) onTagged(task.id);
  });

  /** Opens an image in the caption editor; from another panel, the gallery scrolls to it. */
  const selectImage = useCallback((key: string | null, { scroll = false } = {}) => {
    setSelectedImage(key);
    if (scroll) setRevealImage((n) => n + 1);
  }, []);

  const toggleFilter = useCallback((tag: string, mode: 'all' | 'none') => {
    const add = (list: string[]) => (list.includes(tag) ? list.filter((t) => t !== tag) : [...list, tag]);
    const drop = (list: string[]) => list.filter((t) => t !== tag);
    setFilter((f) => (mode === 'all' ? { all: add(f.all), none: drop(f.none) } : { all: drop(f.all), none: add(f.none) }));
  }, []);

  return (
    <>
      <DatasetHeader summary={current} reveal={reveal} ready={data !== undefined || detail.error !== null} onClose={onClose} onChanged={changed} onRenamed={onRenamed} onDeleted={onDeleted} onImagesChanged={onImagesChanged} />
      <ErrorBanner error={detail.error} onRetry={detail.reload} />
      {data === undefined ? (
        detail.error ? null : <Loading label="Reading the dataset…" />
      ) : (
        <>
          <GallerySection
            dataset={data}
            cache={cache}
            locked={locked}
            selected={selectedImage}
            revealSignal={revealImage}
            onSelect={selectImage}
            filter={filter}
            onFilterChange={setFilter}
            version={captionVersion}
            onCaptionsChanged={onCaptionsChanged}
          />
          <AutoTagSection dataset={data} locked={locked} onStarted={onImagesChanged} onTagged={onTagged} />
          <div className="datasets-tools">
            <TagFrequencySection dataset={data} version={captionVersion} filter={filter} onToggleFilter={toggleFilter} />
            <LintSection dataset={data} onSelectImage={(key) => selectImage(key, { scroll: true })} />
          </div>
          <BulkEditSection dataset={data} locked={locked} version={captionVersion} onCaptionsChanged={onCaptionsChanged} onSelectImage={(key) => selectImage(key, { scroll: true })} />
          <PlanSection dataset={data} />
        </>
      )}
    </>
  );
}

import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { api } from '../../api.ts';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { useAction } from '../../hooks/useAction.ts';
import { useJson } from '../../hooks/useJson.ts';
import { plural } from './labels.ts';
import { captionPath, imageUrl, parseTags, splitImageKey } from './paths.ts';
import type { CaptionChange, CaptionRecord, CaptionWrite, DatasetImage } from './types.ts';

interface Props {
  dataset: string;
  imageKey: string;
  /** The gallery's entry for the image; absent when the image is not in the dataset's list (any more). */
  image: DatasetImage | undefined;
  classTokens: string;
  locked: string | null;
  /** Unsaved text kept by the gallery, so moving to another image and back loses nothing. */
  draft: string | null;
  onDraft: (text: string | null) => void;
  previous: string | null;
  next: string | null;
  onSelect: (key: string | null) => void;
  onSaved: (changes: readonly CaptionChange[]) => void;
  /** Bumped after every caption edit anywhere (bulk, undo, tagging): the caption is read again. */
  version: number;
}

function TagChips({ tags, onRemove }: { tags: string[]; onRemove: ((index: number) => void) | null }) {
  if (tags.length === 0) return <p className="muted">No tags.</p>;
  return (
    <ul className="tag-chips" data-testid="caption-tags" data-count={tags.length}>
      {tags.map((tag, index) => (
        <li key={`${index}-${tag}`} className="tag-chips__item">
          <span className="tag-chips__text">{tag}</span>
          {onRemove ? (
            <button type="button" className="tag-chips__remove" onClick={() => onRemove(index)} aria-label={`Remove tag ${tag}`}>
              ×
            </button>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

/** One image, larger, with its caption text and tags; saving writes the caption file (and can be undone). */
export function CaptionEditor({ dataset, imageKey, image, classTokens, locked, draft, onDraft, previous, next, onSelect, onSaved, version }: Props) {
  const { subset, file } = splitImageKey(imageKey);
  const record = useJson<CaptionRecord>(captionPath(dataset, subset, file));
  // The text as the studio last confirmed it (loaded, or saved from here).
  const [saved, setSaved] = useState<{ text: string; tags: string[]; exists: boolean } | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  // An edit made elsewhere (bulk edit, undo, tagging) may have changed this caption: read it again.
  // The bump that follows a save made here needs no reload.
  const ownSave = useRef(false);
  const seenVersion = useRef(version);
  const { reload } = record;
  useEffect(() => {
    if (version === seenVersion.current) return;
    seenVersion.current = version;
    if (ownSave.current) {
      ownSave.current = false;
      return;
    }
    setSaved(null);
    setStatus(null);
    reload();
  }, [version, reload]);

  const base = saved ?? (record.data ? { text: record.data.text, tags: record.data.tags, exists: record.data.exists } : null);
  const text = draft ?? base?.text ?? '';
  const dirty = base !== null && draft !== null && draft !== base.text;
  const tags = dirty ? parseTags(text) : (base?.tags ?? []);

  const save = useAction(async (value: string) => {
    const answer = await api.put<CaptionWrite>(captionPath(dataset, subset, file), { text: value });
    setSaved({ text: value, tags: parseTags(value), exists: true });
    onDraft(null);
    if (answer.changes.length > 0) ownSave.current = true;
    setStatus(answer.changes.length === 0 ? 'No change: the caption already read so.' : answer.undoId ? 'Saved. Undo is available under Bulk edit.' : 'Saved.');
    onSaved(answer.changes);
  });

  const edit = (value: string) => {
    setStatus(null);
    onDraft(base !== null && value === base.text ? null : value);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (dirty && !save.pending && locked === null) void save.run(text);
    }
  };
  const removeTag = (index: number) => edit(tags.filter((_, i) => i !== index).join(', '));

  return (
    <div className="caption-editor" id="caption-editor" data-testid="caption-editor" data-image={imageKey} data-dirty={dirty}>
      <div className="caption-editor__head">
        <p className="caption-editor__file mono" title={imageKey}>
          {imageKey}
        </p>
        <div className="caption-editor__nav">
          <button type="button" className="button button--small button--ghost" onClick={() => onSelect(previous)} disabled={previous === null} aria-label="Previous image" data-testid="caption-prev">
            ‹
          </button>
          <button type="button" className="button button--small button--ghost" onClick={() => onSelect(next)} disabled={next === null} aria-label="Next image" data-testid="caption-next">
            ›
          </button>
          <button type="button" className="button button--small button--ghost" onClick={() => onSelect(null)} data-testid="caption-close">
            Close
          </button>
        </div>
      </div>
      <a className="caption-editor__image" href={imageUrl(dataset, subset, file)} target="_blank" rel="noopener noreferrer" title="Open the full image in a new tab">
        <img src={imageUrl(dataset, subset, file)} alt={`Image ${file}`} decoding="async" />
      </a>
      <p className="muted caption-editor__facts">
        {image ? (
          <>
            {image.width !== null && image.height !== null ? `${image.width}×${image.height}` : 'size unknown'}
            {image.format ? ` · ${image.format}` : ''} · subset <span className="mono">{image.subset}</span>
          </>
        ) : (
          'This image is not in the dataset’s list; it may have been removed.'
        )}
      </p>

      <ErrorBanner error={record.error} onRetry={record.reload} />
      {base === null ? (
        record.error ? null : <Loading label="Reading the caption…" />
      ) : (
        <>
          <label htmlFor="caption-text" className="label caption-editor__label">
            Caption{' '}
            <span className="muted mono caption-editor__path">
              {record.data?.caption ?? ''}
              {base.exists ? '' : ' — no file yet; saving creates it'}
            </span>
          </label>
          <textarea
            id="caption-text"
            className="textarea"
            rows={7}
            value={text}
            onChange={(event) => edit(event.target.value)}
            onKeyDown={onKeyDown}
            readOnly={locked !== null}
            spellCheck={false}
            placeholder={classTokens ? `No caption — kohya uses the class tokens “${classTokens}”.` : 'No caption yet: comma-separated tags or a sentence.'}
            data-testid="caption-text"
          />
          <div className="caption-editor__actions">
            <button type="button" className="button button--small" onClick={() => void save.run(text)} disabled={!dirty || save.pending || locked !== null} data-testid="caption-save">
              {save.pending ? 'Saving…' : 'Save caption'}
            </button>
            <button type="button" className="button button--small button--ghost" onClick={() => edit(base.text)} disabled={!dirty || save.pending} data-testid="caption-revert">
              Revert
            </button>
            <span className="muted caption-editor__status" role="status" data-testid="caption-status">
              {dirty ? 'Unsaved changes · Ctrl+Enter saves' : status}
            </span>
          </div>
          <ErrorBanner error={save.error} onDismiss={save.clearError} />
          <div className="caption-editor__tags">
            <p className="caption-editor__tags-title">
              Tags <span className="subsection__count">{plural(tags.length, 'tag')}</span>
            </p>
            <TagChips tags={tags} onRemove={locked === null ? removeTag : null} />
          </div>
        </>
      )}
    </div>
  );
}

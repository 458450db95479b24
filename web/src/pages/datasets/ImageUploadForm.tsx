import { useEffect, useRef, useState, type FormEvent } from 'react';
import { toApiError } from '../../api.ts';
import { RichText } from '../../components/RichText.tsx';
import { formatBytes, formatCount } from '../../format.ts';
import { useSession } from '../../session.tsx';
import { uploadFile } from '../../upload.ts';
import { plural } from './labels.ts';
import type { DatasetSummary, UploadedImage } from './types.ts';

const ACCEPT = '.png,.jpg,.jpeg,.webp,.gif,.bmp,.tif,.tiff,.avif,image/*';
const DEFAULT_SUBSET = '';

type FileState =
  | { state: 'waiting' }
  | { state: 'sending'; sent: number }
  | { state: 'done'; image: UploadedImage | null }
  | { state: 'failed'; message: string; hint: string | null }
  | { state: 'cancelled' };

interface Entry {
  name: string;
  size: number;
  status: FileState;
}

function imageOf(result: unknown): UploadedImage | null {
  if (typeof result !== 'object' || result === null || !('image' in result)) return null;
  const image = (result as { image: unknown }).image;
  return typeof image === 'object' && image !== null && typeof (image as { file?: unknown }).file === 'string' ? (image as UploadedImage) : null;
}

function StatusText({ entry }: { entry: Entry }) {
  const { status } = entry;
  switch (status.state) {
    case 'waiting':
      return <span className="muted">waiting</span>;
    case 'sending':
      return (
        <span className="muted">
          {formatBytes(status.sent)} / {formatBytes(entry.size)}
        </span>
      );
    case 'done':
      return status.image ? (
        <span className="uploads__done">
          added as <span className="mono">{status.image.subset}/{status.image.file}</span> · {status.image.width}×{status.image.height}{' '}
          {status.image.format}
        </span>
      ) : (
        <span className="uploads__done">added</span>
      );
    case 'failed':
      return (
        <span className="uploads__failed">
          <RichText text={status.message} />
          {status.hint ? (
            <span className="muted">
              {' '}
              <RichText text={status.hint} />
            </span>
          ) : null}
        </span>
      );
    case 'cancelled':
      return <span className="muted">not sent</span>;
  }
}

interface Props {
  summary: DatasetSummary;
  locked: string | null;
  /** Called after the last file of a batch, when at least one image was added. */
  onUploaded: () => void;
}

/** Adds image files to the dataset, one after another, each checked by the studio before it is stored. */
export function ImageUploadForm({ summary, locked, onUploaded }: Props) {
  const { csrfToken } = useSession();
  const form = useRef<HTMLFormElement>(null);
  const controller = useRef<AbortController | null>(null);
  const [files, setFiles] = useState<File[]>([]);
  const [subset, setSubset] = useState(summary.subsets[0]?.name ?? DEFAULT_SUBSET);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [sending, setSending] = useState(false);

  useEffect(() => () => controller.current?.abort(), []);

  const update = (index: number, status: FileState) =>
    setEntries((current) => current.map((entry, i) => (i === index ? { ...entry, status } : entry)));

  const start = async (chosen: File[], target: string) => {
    const abort = new AbortController();
    controller.current = abort;
    setSending(true);
    setEntries(chosen.map((file) => ({ name: file.name, size: file.size, status: { state: 'waiting' } })));
    let added = 0;
    for (const [index, file] of chosen.entries()) {
      if (abort.signal.aborted) {
        update(index, { state: 'cancelled' });
        continue;
      }
      update(index, { state: 'sending', sent: 0 });
      try {
        const result = await uploadFile({
          file,
          kind: 'image',
          target: target === DEFAULT_SUBSET ? { dataset: summary.name } : { dataset: summary.name, subset: target },
          csrfToken,
          signal: abort.signal,
          onProgress: (sent) => update(index, { state: 'sending', sent }),
        });
        update(index, { state: 'done', image: imageOf(result) });
        added += 1;
      } catch (cause) {
        if (abort.signal.aborted) update(index, { state: 'cancelled' });
        else {
          const error = toApiError(cause);
          update(index, { state: 'failed', message: error.message, hint: error.hint });
        }
      }
    }
    if (controller.current === abort) controller.current = null;
    setSending(false);
    form.current?.reset();
    setFiles([]);
    if (added > 0) onUploaded();
  };

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (files.length > 0 && !sending) void start(files, target);
  };

  // A subset added or renamed since: fall back to the first one.
  const target = summary.subsets.some((s) => s.name === subset) ? subset : (summary.subsets[0]?.name ?? DEFAULT_SUBSET);
  const done = entries.filter((e) => e.status.state === 'done').length;
  const failed = entries.filter((e) => e.status.state === 'failed').length;

  return (
    <div className="subsection" data-testid="image-upload">
      <h3 className="subsection__title">Add images</h3>
      <form ref={form} className="inline-form" onSubmit={onSubmit} aria-label="Add images to this dataset">
        <label htmlFor="image-upload-input" className="visually-hidden">
          Image files
        </label>
        <input
          id="image-upload-input"
          type="file"
          multiple
          className="file-input"
          accept={ACCEPT}
          disabled={sending || locked !== null}
          onChange={(event) => setFiles([...(event.currentTarget.files ?? [])])}
          data-testid="image-upload-input"
        />
        <label htmlFor="image-upload-subset" className="muted">
          into
        </label>
        <select
          id="image-upload-subset"
          className="input select"
          value={target}
          onChange={(event) => setSubset(event.target.value)}
          disabled={sending || locked !== null}
          data-testid="image-upload-subset"
        >
          {summary.subsets.length === 0 ? <option value={DEFAULT_SUBSET}>the default subset</option> : null}
          {summary.subsets.map((s) => (
            <option key={s.name} value={s.name}>
              {s.name}
            </option>
          ))}
        </select>
        <button type="submit" className="button button--small" disabled={files.length === 0 || sending || locked !== null} data-testid="image-upload-start">
          {sending ? 'Uploading…' : files.length > 1 ? `Upload ${files.length} images` : 'Upload'}
        </button>
        {sending ? (
          <button type="button" className="button button--small button--ghost" onClick={() => controller.current?.abort()} data-testid="image-upload-cancel">
            Stop
          </button>
        ) : null}
      </form>
      <p className="muted hint-line">
        PNG, JPEG and WebP are stored as they are; GIF, BMP, TIFF and AVIF are converted to PNG. Each file is checked before it
        is stored.
      </p>
      {entries.length > 0 ? (
        <div data-testid="image-upload-results" data-done={done} data-failed={failed}>
          <p className="uploads__summary" aria-live="polite">
            {sending ? `Uploading ${plural(entries.length, 'image')}…` : `${plural(done, 'image')} added`}
            {failed > 0 ? `, ${formatCount(failed)} refused` : ''}.
          </p>
          <ul className="uploads">
            {entries.map((entry, index) => (
              <li key={index} className={`uploads__item uploads__item--${entry.status.state}`}>
                <span className="mono uploads__name">{entry.name}</span>
                <StatusText entry={entry} />
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </div>
  );
}

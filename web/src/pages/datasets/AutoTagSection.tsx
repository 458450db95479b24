import { useState, type FormEvent } from 'react';
import { api } from '../../api.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { RichText } from '../../components/RichText.tsx';
import { Section } from '../../components/Section.tsx';
import { useAction } from '../../hooks/useAction.ts';
import { useFollowedTask } from '../../hooks/useFollowedTask.ts';
import { useJson } from '../../hooks/useJson.ts';
import type { ModelRecord, TaskRecord } from '../../types.ts';
import { plural } from './labels.ts';
import { datasetPath, parseTags } from './paths.ts';
import { SubsetSelect } from './SubsetSelect.tsx';
import { TaskPanel } from './TaskPanel.tsx';
import type { DatasetDetail } from './types.ts';

type Mode = 'overwrite' | 'append' | 'skip';

const MODES: Array<{ mode: Mode; label: string; note: string }> = [
  { mode: 'skip', label: 'Skip captioned images', note: 'only images without a caption get one' },
  { mode: 'append', label: 'Append', note: 'new tags are added after the existing ones' },
  { mode: 'overwrite', label: 'Overwrite', note: 'existing captions are replaced (undo restores them)' },
];

interface TagResult {
  images: number;
  tagged: number;
  skipped: number;
  changed: number;
  failed: Array<{ image: string; code?: string; message?: string }>;
}

function resultOf(task: TaskRecord | null): TagResult | null {
  const result = task?.result;
  if (typeof result !== 'object' || result === null) return null;
  const r = result as Partial<TagResult>;
  return typeof r.tagged === 'number' && typeof r.changed === 'number'
    ? { images: r.images ?? 0, tagged: r.tagged, skipped: r.skipped ?? 0, changed: r.changed, failed: Array.isArray(r.failed) ? r.failed : [] }
    : null;
}

const STEPS: Record<string, string> = {
  'listing images': 'Listing the images to tag.',
  tagging: 'Tagging the images — captions are written together at the end.',
  'writing captions': 'Writing the captions (one undoable edit).',
};

function TagSummary({ result }: { result: TagResult }) {
  return (
    <div className="autotag__summary" data-testid="autotag-done">
      <p className="import-task__done">
        Tagged {plural(result.tagged, 'image')}: {plural(result.changed, 'caption')} written
        {result.skipped > 0 ? `, ${plural(result.skipped, 'captioned image')} skipped` : ''}. Undo under Bulk edit restores the earlier captions.
      </p>
      {result.failed.length > 0 ? (
        <details className="evidence" open={result.failed.length <= 5}>
          <summary>{plural(result.failed.length, 'image was', 'images were')} not tagged</summary>
          <ul className="evidence__list">
            {result.failed.map((failure, index) => (
              <li key={index}>
                <span className="mono">{failure.image}</span>
                {failure.message ? ` — ${failure.message}` : failure.code ? ` — ${failure.code}` : ''}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </div>
  );
}

interface Props {
  dataset: DatasetDetail;
  locked: string | null;
  /** Called when tagging starts here: the dataset is locked while it runs. */
  onStarted: () => void;
  /** Called when a tagging task started here ends (it may have written captions even if it failed). */
  onTagged: (taskId: string) => void;
}

interface TagRequest {
  modelId: string;
  subset?: string;
  generalThreshold: number;
  characterThreshold: number;
  exclude?: string[];
  triggerWord?: string;
  mode: Mode;
}

const threshold = (value: string): number | null => {
  const n = Number(value);
  return value.trim() !== '' && n > 0 && n <= 1 ? n : null;
};

function TagForm({ dataset, taggers, onStarted }: { dataset: DatasetDetail; taggers: ModelRecord[]; onStarted: (task: TaskRecord) => void }) {
  const [modelId, setModelId] = useState(taggers[0]?.id ?? '');
  const [subset, setSubset] = useState('');
  const [general, setGeneral] = useState('0.35');
  const [character, setCharacter] = useState('0.85');
  const [exclude, setExclude] = useState('');
  const [trigger, setTrigger] = useState('');
  const [mode, setMode] = useState<Mode>('skip');
  const start = useAction(async (body: TagRequest) => {
    onStarted(await api.post<TaskRecord>(datasetPath(dataset.name, 'tag'), body));
  });

  const g = threshold(general);
  const c = threshold(character);
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (g === null || c === null || modelId === '' || start.pending) return;
    const body: TagRequest = { modelId, generalThreshold: g, characterThreshold: c, mode };
    if (subset !== '') body.subset = subset;
    const tags = parseTags(exclude);
    if (tags.length > 0) body.exclude = tags;
    if (trigger.trim() !== '') body.triggerWord = trigger.trim();
    void start.run(body);
  };

  return (
    <form className="form-grid" onSubmit={onSubmit} aria-label="Auto-tag settings" noValidate>
      <label htmlFor="autotag-model" className="label">
        Tagger
      </label>
      <select id="autotag-model" className="input select" value={modelId} onChange={(e) => setModelId(e.target.value)} data-testid="autotag-model">
        {taggers.map((m) => (
          <option key={m.id} value={m.id}>
            {m.name}
          </option>
        ))}
      </select>
      <span className="label">Images</span>
      <SubsetSelect id="autotag-subset" subsets={dataset.subsets} value={subset} onChange={setSubset} testId="autotag-subset" allLabel="Every subset" />
      <label htmlFor="autotag-general" className="label">
        General threshold
      </label>
      <div className="inline-form">
        <input id="autotag-general" className="input input--number" type="number" min={0.01} max={1} step={0.01} value={general} onChange={(e) => setGeneral(e.target.value)} aria-invalid={g === null} data-testid="autotag-general" />
        <span className="muted">tags scored below this are left out</span>
      </div>
      <label htmlFor="autotag-character" className="label">
        Character threshold
      </label>
      <input id="autotag-character" className="input input--number" type="number" min={0.01} max={1} step={0.01} value={character} onChange={(e) => setCharacter(e.target.value)} aria-invalid={c === null} data-testid="autotag-character" />
      <label htmlFor="autotag-exclude" className="label">
        Exclude tags
      </label>
      <input id="autotag-exclude" className="input input--wide" value={exclude} onChange={(e) => setExclude(e.target.value)} placeholder="comma-separated, e.g. simple background, watermark" autoComplete="off" spellCheck={false} data-testid="autotag-exclude" />
      <label htmlFor="autotag-trigger" className="label">
        Trigger word
      </label>
      <input id="autotag-trigger" className="input" value={trigger} onChange={(e) => setTrigger(e.target.value)} placeholder="optional, put first" autoComplete="off" spellCheck={false} data-testid="autotag-trigger" />
      <span className="label">Existing captions</span>
      <fieldset className="radios" data-testid="autotag-mode">
        <legend className="visually-hidden">Existing captions</legend>
        {MODES.map((m) => (
          <label key={m.mode} className="checkbox">
            <input type="radio" name="autotag-mode" value={m.mode} checked={mode === m.mode} onChange={() => setMode(m.mode)} data-testid={`autotag-mode-${m.mode}`} />
            {m.label} <span className="muted">— {m.note}</span>
          </label>
        ))}
      </fieldset>
      <span />
      <div className="inline-form">
        <button type="submit" className="button" disabled={g === null || c === null || modelId === '' || start.pending} data-testid="autotag-start">
          {start.pending ? 'Starting…' : 'Start tagging'}
        </button>
      </div>
      <span />
      <ErrorBanner error={start.error} onDismiss={start.clearError} />
    </form>
  );
}

/** WD14-style tagging of the dataset's images with a tagger from the model library, followed live. */
export function AutoTagSection({ dataset, locked, onStarted, onTagged }: Props) {
  const models = useJson<{ models: ModelRecord[] }>('/api/models');
  const [open, setOpen] = useState(false);
  const followed = useFollowedTask((task) => onTagged(task.id));
  const taggers = (models.data?.models ?? []).filter((m) => m.kind === 'tagger');
  const noTagger = models.data !== undefined && taggers.length === 0;

  return (
    <Section
      id="dataset-autotag"
      testId="autotag"
      title="Auto-tag"
      description="Writes booru-style tags for each image with a WD14 tagger from the library. It runs in the studio; this page can be closed meanwhile."
      actions={
        <button
          type="button"
          className="button button--small"
          onClick={() => setOpen(true)}
          disabled={taggers.length === 0 || locked !== null || followed.following}
          data-testid="autotag-open"
        >
          {followed.following ? 'Tagging…' : 'Auto-tag…'}
        </button>
      }
    >
      <ErrorBanner error={models.error} onRetry={models.reload} />
      {noTagger ? (
        <div className="notice" data-testid="autotag-no-tagger">
          <p className="notice__title">No tagger in the library yet.</p>
          <p>
            Import a WD14 tagger folder — <code>model.onnx</code> with its <code>selected_tags.csv</code> — on the Models page or with{' '}
            <code>lorasmith models import FOLDER</code>. Pulling taggers from the hubs is coming.
          </p>
        </div>
      ) : null}
      {followed.taskId ? (
        <TaskPanel taskId={followed.taskId} task={followed.task} title="Auto-tag" stepText={(detail) => STEPS[detail] ?? detail} testId="autotag-task">
          {followed.task?.state === 'succeeded' ? (
            resultOf(followed.task) ? (
              <TagSummary result={resultOf(followed.task) as TagResult} />
            ) : (
              <p className="import-task__done" data-testid="autotag-done">
                Tagging finished; the gallery and tag counts show the new captions.
              </p>
            )
          ) : followed.task?.error ? (
            <p className="task-panel__error">
              <RichText text={followed.task.error.message} />
              {followed.task.error.hint ? (
                <>
                  {' '}
                  <RichText text={followed.task.error.hint} />
                </>
              ) : null}
            </p>
          ) : null}
        </TaskPanel>
      ) : null}
      <Dialog open={open} onClose={() => setOpen(false)} title={`Auto-tag ${dataset.name}`} testId="autotag-dialog">
        {taggers.length > 0 ? (
          <TagForm
            dataset={dataset}
            taggers={taggers}
            onStarted={(task) => {
              followed.follow(task.id, task);
              setOpen(false);
              onStarted();
            }}
          />
        ) : null}
      </Dialog>
    </Section>
  );
}

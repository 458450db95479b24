import { useState, type FormEvent } from 'react';
import { api } from '../../api.ts';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Section } from '../../components/Section.tsx';
import { formatCount } from '../../format.ts';
import { useAction } from '../../hooks/useAction.ts';
import { plural } from './labels.ts';
import { datasetPath, parseTags } from './paths.ts';
import { SubsetSelect } from './SubsetSelect.tsx';
import { TagDiff } from './TagDiff.tsx';
import type { CaptionChange, CaptionEdit, CaptionPreview, CaptionWrite, DatasetDetail } from './types.ts';
import { UndoPanel } from './UndoPanel.tsx';

type Op = CaptionEdit['op'];

const OPS: Array<{ op: Op; label: string }> = [
  { op: 'add-trigger', label: 'Add a trigger word first' },
  { op: 'remove-tags', label: 'Remove tags' },
  { op: 'replace', label: 'Find and replace' },
  { op: 'dedupe', label: 'Remove repeated tags' },
  { op: 'sort', label: 'Sort tags' },
];

/** Preview rows in the page at once. */
const ROWS = 200;

interface Fields {
  trigger: string;
  tags: string;
  ignoreCase: boolean;
  find: string;
  replacement: string;
  regex: boolean;
  flags: string;
  target: 'text' | 'tags';
  keepTokens: string;
}

const INITIAL: Fields = { trigger: '', tags: '', ignoreCase: false, find: '', replacement: '', regex: false, flags: '', target: 'text', keepTokens: '1' };

/** The edit the form describes, or null while it is incomplete. */
function editOf(op: Op, f: Fields): CaptionEdit | null {
  switch (op) {
    case 'add-trigger':
      return f.trigger.trim() === '' ? null : { op, trigger: f.trigger.trim() };
    case 'remove-tags': {
      const tags = parseTags(f.tags);
      return tags.length === 0 ? null : { op, tags, ignoreCase: f.ignoreCase };
    }
    case 'replace':
      if (f.find === '') return null;
      return f.regex ? { op, find: f.find, replacement: f.replacement, regex: true, flags: f.flags, target: f.target } : { op, find: f.find, replacement: f.replacement, target: f.target };
    case 'dedupe':
      return { op, ignoreCase: f.ignoreCase };
    case 'sort': {
      const keep = Number(f.keepTokens);
      return f.keepTokens.trim() === '' ? { op } : Number.isInteger(keep) && keep >= 0 ? { op, keepTokens: keep } : null;
    }
  }
}

interface Previewed {
  key: string;
  result: CaptionPreview;
}

interface Props {
  dataset: DatasetDetail;
  locked: string | null;
  version: number;
  onCaptionsChanged: (changes?: readonly CaptionChange[]) => void;
  onSelectImage: (key: string) => void;
}

function OpFields({ op, fields, set }: { op: Op; fields: Fields; set: (patch: Partial<Fields>) => void }) {
  switch (op) {
    case 'add-trigger':
      return (
        <div className="form-grid">
          <label htmlFor="bulk-trigger" className="label">
            Trigger
          </label>
          <input id="bulk-trigger" className="input input--wide" value={fields.trigger} onChange={(e) => set({ trigger: e.target.value })} placeholder="e.g. sks dog" autoComplete="off" spellCheck={false} data-testid="bulk-trigger" />
        </div>
      );
    case 'remove-tags':
      return (
        <div className="form-grid">
          <label htmlFor="bulk-tags" className="label">
            Tags
          </label>
          <input id="bulk-tags" className="input input--wide" value={fields.tags} onChange={(e) => set({ tags: e.target.value })} placeholder="comma-separated, e.g. watermark, signature" autoComplete="off" spellCheck={false} data-testid="bulk-tags" />
          <span />
          <label className="checkbox">
            <input type="checkbox" checked={fields.ignoreCase} onChange={(e) => set({ ignoreCase: e.target.checked })} data-testid="bulk-ignore-case" />
            Ignore case
          </label>
        </div>
      );
    case 'replace':
      return (
        <div className="form-grid">
          <label htmlFor="bulk-find" className="label">
            Find
          </label>
          <input id="bulk-find" className="input input--mono input--wide" value={fields.find} onChange={(e) => set({ find: e.target.value })} autoComplete="off" spellCheck={false} data-testid="bulk-find" />
          <label htmlFor="bulk-replacement" className="label">
            Replace with
          </label>
          <input id="bulk-replacement" className="input input--mono input--wide" value={fields.replacement} onChange={(e) => set({ replacement: e.target.value })} placeholder="nothing" autoComplete="off" spellCheck={false} data-testid="bulk-replacement" />
          <span className="label">In</span>
          <div className="inline-form">
            <select className="input select" value={fields.target} onChange={(e) => set({ target: e.target.value === 'tags' ? 'tags' : 'text' })} aria-label="Replace in" data-testid="bulk-target">
              <option value="text">the whole caption text</option>
              <option value="tags">each tag on its own (a tag replaced by nothing is removed)</option>
            </select>
            <label className="checkbox">
              <input type="checkbox" checked={fields.regex} onChange={(e) => set({ regex: e.target.checked })} data-testid="bulk-regex" />
              Regular expression
            </label>
            {fields.regex ? (
              <>
                <label htmlFor="bulk-flags" className="muted">
                  flags
                </label>
                <input id="bulk-flags" className="input input--mono input--short" value={fields.flags} onChange={(e) => set({ flags: e.target.value })} placeholder="gi" autoComplete="off" spellCheck={false} data-testid="bulk-flags" />
              </>
            ) : null}
          </div>
        </div>
      );
    case 'dedupe':
      return (
        <label className="checkbox">
          <input type="checkbox" checked={fields.ignoreCase} onChange={(e) => set({ ignoreCase: e.target.checked })} data-testid="bulk-ignore-case" />
          Treat tags that differ only in case as repeats
        </label>
      );
    case 'sort':
      return (
        <div className="form-grid">
          <label htmlFor="bulk-keep" className="label">
            Keep first
          </label>
          <div className="inline-form">
            <input id="bulk-keep" className="input input--number" type="number" min={0} step={1} value={fields.keepTokens} onChange={(e) => set({ keepTokens: e.target.value })} data-testid="bulk-keep" />
            <span className="muted">tags in place (kohya’s keep_tokens), sort the rest</span>
          </div>
        </div>
      );
  }
}

/** One edit over many captions: previewed first (before / after), then applied; every apply can be undone. */
export function BulkEditSection({ dataset, locked, version, onCaptionsChanged, onSelectImage }: Props) {
  const [op, setOp] = useState<Op>('add-trigger');
  const [fields, setFields] = useState<Fields>(INITIAL);
  const [subset, setSubset] = useState('');
  const [previewed, setPreviewed] = useState<Previewed | null>(null);
  const [applied, setApplied] = useState<number | null>(null);

  const edit = editOf(op, fields);
  const body = edit === null ? null : subset === '' ? { edit } : { subset, edit };
  const key = body === null ? '' : JSON.stringify(body);
  const current = previewed !== null && previewed.key === key ? previewed.result : null;

  const preview = useAction(async () => {
    if (body === null) return;
    setApplied(null);
    const result = await api.post<CaptionPreview>(datasetPath(dataset.name, 'captions', 'preview'), body);
    setPreviewed({ key, result });
  });
  const apply = useAction(async () => {
    if (body === null) return;
    const result = await api.post<CaptionWrite>(datasetPath(dataset.name, 'captions', 'apply'), body);
    setPreviewed(null);
    setApplied(result.changes.length);
    onCaptionsChanged(result.changes);
  });

  const set = (patch: Partial<Fields>) => setFields((f) => ({ ...f, ...patch }));
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (edit !== null && !preview.pending) void preview.run();
  };
  const errors = preview.error ?? apply.error;

  return (
    <Section
      id="dataset-bulk"
      testId="bulk-edit"
      title="Bulk edit captions"
      description="Preview shows every caption the edit would change, before and after. Nothing is written until you apply."
    >
      <form className="bulk__form" onSubmit={onSubmit} aria-label="Bulk caption edit">
        <div className="inline-form">
          <label htmlFor="bulk-op" className="visually-hidden">
            Operation
          </label>
          <select
            id="bulk-op"
            className="input select"
            value={op}
            onChange={(event) => {
              setOp(event.target.value as Op);
              setApplied(null);
            }}
            data-testid="bulk-op"
          >
            {OPS.map((o) => (
              <option key={o.op} value={o.op}>
                {o.label}
              </option>
            ))}
          </select>
          <SubsetSelect id="bulk-subset" subsets={dataset.subsets} value={subset} onChange={setSubset} testId="bulk-subset" allLabel="in every subset" />
        </div>
        <OpFields op={op} fields={fields} set={set} />
        <div className="inline-form">
          <button type="submit" className="button button--small button--ghost" disabled={edit === null || preview.pending} data-testid="bulk-preview">
            {preview.pending ? 'Previewing…' : 'Preview'}
          </button>
          <button
            type="button"
            className="button button--small"
            onClick={() => void apply.run()}
            disabled={current === null || current.changes.length === 0 || apply.pending || locked !== null}
            title={current === null ? 'Preview the edit first' : undefined}
            data-testid="bulk-apply"
          >
            {apply.pending ? 'Applying…' : current ? `Apply to ${plural(current.changes.length, 'caption')}` : 'Apply'}
          </button>
          {previewed !== null && current === null && edit !== null ? <span className="muted">The edit changed since its preview — preview again.</span> : null}
        </div>
      </form>
      <ErrorBanner
        error={errors}
        onDismiss={() => {
          preview.clearError();
          apply.clearError();
        }}
      />
      {applied !== null ? (
        <p className="ok-line" role="status" data-testid="bulk-applied">
          {applied === 0 ? 'Nothing changed: the captions already read so.' : `${plural(applied, 'caption')} changed. Undo below restores them exactly.`}
        </p>
      ) : null}
      {current ? (
        <div className="bulk__preview" data-testid="bulk-preview-result" data-changes={current.changes.length}>
          <p className="bulk__summary">
            {current.changes.length === 0
              ? `No caption would change (${plural(current.images, 'image')} checked).`
              : `${formatCount(current.changes.length)} of ${plural(current.images, 'image')} would change.`}
          </p>
          {current.changes.length > 0 ? (
            <div className="table-scroll table-scroll--tall">
              <table className="table table--fixed table--sticky" data-testid="bulk-preview-table">
                <colgroup>
                  <col className="col--image" />
                  <col />
                  <col />
                </colgroup>
                <thead>
                  <tr>
                    <th scope="col">Image</th>
                    <th scope="col">Before</th>
                    <th scope="col">After</th>
                  </tr>
                </thead>
                <tbody>
                  {current.changes.slice(0, ROWS).map((change) => (
                    <tr key={change.image}>
                      <td className="table__wrap">
                        <button type="button" className="link-button mono bulk__image" onClick={() => onSelectImage(change.image)}>
                          {change.image}
                        </button>
                      </td>
                      <td className="table__wrap bulk__text">
                        <TagDiff text={change.before} other={change.after} side="before" />
                      </td>
                      <td className="table__wrap bulk__text">
                        <TagDiff text={change.after} other={change.before} side="after" />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
          {current.changes.length > ROWS ? <p className="muted table__note">{formatCount(current.changes.length - ROWS)} more changes not shown; apply changes them all.</p> : null}
        </div>
      ) : null}
      <UndoPanel dataset={dataset.name} locked={locked} version={version} onUndone={() => onCaptionsChanged()} />
    </Section>
  );
}

import { Dialog } from '../../components/Dialog.tsx';
import type { JobRecord } from './types.ts';

interface Props {
  job: JobRecord;
  open: boolean;
  /** The run's newest per-epoch or per-step file, when it saved one. */
  lastSave: string | null;
  pending: boolean;
  onClose: () => void;
  onStop: () => void;
}

/** Whether the run's config asks the engine to save its training state with each save. */
function savesState(job: JobRecord): boolean {
  const saving = job.config.saving;
  return typeof saving === 'object' && saving !== null && (saving as { saveState?: unknown }).saveState === true;
}

/** Stop asks first, and says plainly what is kept: kohya and FluxFlow save nothing when they are signalled. */
export function StopDialog({ job, open, lastSave, pending, onClose, onStop }: Props) {
  return (
    <Dialog open={open} onClose={onClose} title={`Stop ${job.name}?`} testId="stop-dialog">
      <div className="stack stop-dialog">
        <p>
          The engine is asked to stop, then terminated. <strong>Neither engine saves when it is stopped: progress since the last save is lost.</strong>
        </p>
        <p data-testid="stop-dialog-last-save">
          {lastSave === null ? (
            'This run has saved no model file yet, so nothing of it is kept.'
          ) : (
            <>
              What is kept: the last save, <code>{lastSave}</code>
              {savesState(job) ? ', with its training state, which Resume starts from.' : '. This run saves no training state, so it cannot be resumed.'}
            </>
          )}
        </p>
        <div className="dialog__actions">
          <button type="button" className="button button--ghost" onClick={onClose} data-testid="stop-dialog-cancel">
            Keep running
          </button>
          <button type="button" className="button button--danger" onClick={onStop} disabled={pending} data-testid="stop-dialog-confirm">
            {pending ? 'Stopping…' : 'Stop the run'}
          </button>
        </div>
      </div>
    </Dialog>
  );
}

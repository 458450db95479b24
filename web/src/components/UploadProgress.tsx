import { formatBytes } from '../format.ts';
import type { TaskState } from '../types.ts';

export interface UploadState {
  name: string;
  sent: number;
  total: number;
  state: 'sending' | 'done' | 'cancelled' | 'failed';
}

const BAR_STATE: Record<UploadState['state'], TaskState> = { sending: 'running', done: 'succeeded', cancelled: 'cancelled', failed: 'failed' };

function percent(sent: number, total: number): string {
  return total === 0 ? '100%' : `${Math.floor((sent / total) * 100)}%`;
}

interface Props {
  upload: UploadState;
  /** What to say under the bar in each state. */
  messages: Record<UploadState['state'], string>;
  onCancel: () => void;
  testId?: string;
  cancelTestId?: string;
}

/** One file's chunked upload: name, bytes confirmed by the studio, and a cancel button while it runs. */
export function UploadProgress({ upload, messages, onCancel, testId, cancelTestId }: Props) {
  return (
    <div className="upload" data-testid={testId} data-state={upload.state} data-sent={upload.sent} data-total={upload.total}>
      <div className="upload__head">
        <span className="upload__name mono">{upload.name}</span>
        {upload.state === 'sending' ? (
          <button type="button" className="button button--small button--ghost" onClick={onCancel} data-testid={cancelTestId}>
            Cancel upload
          </button>
        ) : null}
      </div>
      <div className="progress">
        <progress
          className={`progress__bar progress__bar--${BAR_STATE[upload.state]}`}
          max={Math.max(upload.total, 1)}
          value={upload.total === 0 ? 1 : upload.sent}
          aria-label={`Upload of ${upload.name}`}
          aria-valuetext={`${formatBytes(upload.sent)} of ${formatBytes(upload.total)}`}
        />
        <span className="progress__label">
          {formatBytes(upload.sent)} / {formatBytes(upload.total)} · {percent(upload.sent, upload.total)}
        </span>
        <span className="progress__message muted">{messages[upload.state]}</span>
      </div>
    </div>
  );
}

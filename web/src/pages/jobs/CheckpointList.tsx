import { useState } from 'react';
import { toApiError, type ApiError } from '../../api.ts';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { NavLink } from '../../components/NavLink.tsx';
import { formatBytes } from '../../format.ts';
import { jobsApi } from './jobsApi.ts';
import type { RunCheckpoint } from './types.ts';

interface Props {
  jobId: string;
  checkpoints: RunCheckpoint[];
}

/** The run's per-epoch (and per-step) files: they stay with the run until one is promoted into the library. */
export function CheckpointList({ jobId, checkpoints }: Props) {
  const [pending, setPending] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [promoted, setPromoted] = useState<Record<string, { id: string; name: string }>>({});

  const promote = async (name: string) => {
    setPending(name);
    setError(null);
    try {
      const { model } = await jobsApi.promote(jobId, name);
      setPromoted((current) => ({ ...current, [name]: model }));
    } catch (cause) {
      setError(toApiError(cause));
    } finally {
      setPending(null);
    }
  };

  if (checkpoints.length === 0) {
    return (
      <p className="muted" data-testid="checkpoints-none">
        No per-epoch file yet (the run saves one every “save every N epochs”).
      </p>
    );
  }
  return (
    <>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      <div className="table-scroll">
        <table className="table" data-testid="checkpoints">
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Saved</th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {checkpoints.map((checkpoint) => {
              const model = promoted[checkpoint.name];
              return (
                <tr key={checkpoint.name} data-testid={`checkpoint-${checkpoint.name}`}>
                  <td className="mono">{checkpoint.name}</td>
                  <td>{checkpoint.epoch !== null ? `epoch ${checkpoint.epoch}` : checkpoint.step !== null ? `step ${checkpoint.step}` : '—'}</td>
                  <td className="num">{formatBytes(checkpoint.size)}</td>
                  <td className="table__actions">
                    {model ? (
                      <NavLink to={`/models?model=${encodeURIComponent(model.id)}`} testId={`promoted-${checkpoint.name}`}>
                        In the library
                      </NavLink>
                    ) : (
                      <button
                        type="button"
                        className="button button--small"
                        onClick={() => void promote(checkpoint.name)}
                        disabled={pending !== null}
                        data-testid={`promote-${checkpoint.name}`}
                      >
                        {pending === checkpoint.name ? 'Promoting…' : 'Promote to library'}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}

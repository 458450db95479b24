import { useEffect, useRef, useState } from 'react';
import { toApiError, type ApiError } from '../api.ts';
import type { UploadState } from '../components/UploadProgress.tsx';
import { useSession } from '../session.tsx';
import type { UploadKind, UploadTarget } from '../types.ts';
import { uploadFile } from '../upload.ts';

export interface TaskUploadRequest {
  file: File;
  kind: UploadKind;
  target?: UploadTarget;
  /** What to say when the studio took the file but named no task to follow. */
  noTaskMessage: string;
}

/** How a send ended: the task the studio started, why it failed, or null when it was cancelled here. */
export type TaskUploadOutcome = { taskId: string } | { error: ApiError } | null;

export interface TaskUpload {
  /** The latest upload, for UploadProgress; null before the first. */
  upload: UploadState | null;
  /** Sends a file (stopping one still in flight); the studio answers with the task that processes it. */
  send: (request: TaskUploadRequest) => Promise<TaskUploadOutcome>;
  cancel: () => void;
}

function taskIdOf(result: unknown): string | null {
  if (typeof result !== 'object' || result === null || !('taskId' in result)) return null;
  const id = (result as { taskId: unknown }).taskId;
  return typeof id === 'string' && id !== '' ? id : null;
}

/** A chunked upload whose result is a studio task (an import); an upload in flight ends with the page, the task does not. */
export function useTaskUpload(): TaskUpload {
  const { csrfToken } = useSession();
  const controller = useRef<AbortController | null>(null);
  const [upload, setUpload] = useState<UploadState | null>(null);

  useEffect(() => () => controller.current?.abort(), []);

  const send = async ({ file, kind, target, noTaskMessage }: TaskUploadRequest): Promise<TaskUploadOutcome> => {
    controller.current?.abort();
    const abort = new AbortController();
    controller.current = abort;
    setUpload({ name: file.name, sent: 0, total: file.size, state: 'sending' });
    try {
      const result = await uploadFile({
        file,
        kind,
        target,
        csrfToken,
        signal: abort.signal,
        onProgress: (sent, total) => setUpload((current) => current && { ...current, sent, total }),
      });
      setUpload((current) => current && { ...current, sent: current.total, state: 'done' });
      const taskId = taskIdOf(result);
      if (taskId === null) throw new Error(noTaskMessage);
      return { taskId };
    } catch (cause) {
      if (abort.signal.aborted) {
        setUpload((current) => current && { ...current, state: 'cancelled' });
        return null;
      }
      setUpload((current) => current && { ...current, state: 'failed' });
      return { error: toApiError(cause) };
    } finally {
      if (controller.current === abort) controller.current = null;
    }
  };

  return { upload, send, cancel: () => controller.current?.abort() };
}

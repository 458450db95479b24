import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, toApiError, type ApiError } from '../../api.ts';
import { useConnectionState, useStudioEvent } from '../../events.tsx';
import { laterRecord } from '../../tasks.ts';
import { PULL_KIND, pullParams, type PullTask, type Resolution } from './hub.ts';

const LIMIT = 50;

export interface Downloads {
  /** Pull tasks, newest first; undefined until the first list arrives. */
  tasks: PullTask[] | undefined;
  error: ApiError | null;
  reload: () => void;
  /** A record the page got from the studio (a pull or a confirmation just started, a cancel answer). */
  upsert: (task: PullTask) => void;
  /** What became of a pull that awaited confirmation (confirmations are also found in the list). */
  resolutions: ReadonlyMap<string, Resolution>;
  /** The follow-up task of a confirmed pull. */
  confirmations: ReadonlyMap<string, string>;
  resolve: (taskId: string, resolution: Resolution) => void;
  /** The latest pull of a source, for the state shown next to its Pull button. */
  latestFor: (source: string) => PullTask | undefined;
}

function merge(tasks: PullTask[], incoming: PullTask): PullTask[] {
  const index = tasks.findIndex((t) => t.id === incoming.id);
  if (index === -1) return [incoming, ...tasks].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  const current = tasks[index] as PullTask;
  const next = laterRecord(current, incoming) as PullTask | null;
  if (next === null || next === current) return tasks;
  // The stream's records carry the params too; keep the ones we had if an answer left them out.
  const kept: PullTask = next.params === undefined && current.params !== undefined ? { ...next, params: current.params } : next;
  const copy = tasks.slice();
  copy[index] = kept;
  return copy;
}

/**
 * The pull tasks of the studio: the latest {LIMIT} from `/api/tasks?kind=pull`, kept current from the
 * app's live `task` stream (which carries every task's progress), and listed again after a reconnect.
 */
export function useDownloads(): Downloads {
  const [tasks, setTasks] = useState<PullTask[] | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [generation, setGeneration] = useState(0);
  const [resolutions, setResolutions] = useState<Map<string, Resolution>>(() => new Map());
  // Records that arrive before the first list are kept and merged into it.
  const early = useRef<PullTask[]>([]);

  useEffect(() => {
    const controller = new AbortController();
    api
      .get<{ tasks: PullTask[] }>(`/api/tasks?limit=${LIMIT}&kind=${PULL_KIND}`, { signal: controller.signal })
      .then((value) => {
        setError(null);
        setTasks((current) => {
          let next = value.tasks.filter((t) => t.kind === PULL_KIND).sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
          for (const record of [...early.current, ...(current ?? [])]) next = merge(next, record);
          early.current = [];
          return next;
        });
      })
      .catch((cause: unknown) => {
        if (!controller.signal.aborted) setError(toApiError(cause));
      });
    return () => controller.abort();
  }, [generation]);

  const reload = useCallback(() => setGeneration((n) => n + 1), []);

  const upsert = useCallback((task: PullTask) => {
    if (task.kind !== PULL_KIND) return;
    setTasks((current) => {
      if (current === undefined) {
        early.current.push(task);
        return current;
      }
      return merge(current, task);
    });
  }, []);

  useStudioEvent('task', (task) => upsert(task));

  // After the live stream was lost, updates may have been missed: list again once it is back.
  const connection = useConnectionState();
  const lost = useRef(false);
  useEffect(() => {
    if (connection === 'reconnecting' || connection === 'offline') lost.current = true;
    else if (connection === 'live' && lost.current) {
      lost.current = false;
      reload();
    }
  }, [connection, reload]);

  const resolve = useCallback((taskId: string, resolution: Resolution) => {
    setResolutions((current) => new Map(current).set(taskId, resolution));
  }, []);

  const confirmations = useMemo(() => {
    const map = new Map<string, string>();
    for (const task of tasks ?? []) {
      const { confirms } = pullParams(task);
      if (confirms !== undefined && !map.has(confirms)) map.set(confirms, task.id);
    }
    return map;
  }, [tasks]);

  const allResolutions = useMemo(() => {
    const map = new Map(resolutions);
    for (const id of confirmations.keys()) map.set(id, 'confirmed');
    return map;
  }, [resolutions, confirmations]);

  const bySource = useMemo(() => {
    const map = new Map<string, PullTask>();
    for (const task of tasks ?? []) {
      const { source, confirms } = pullParams(task);
      if (source !== undefined && confirms === undefined && !map.has(source)) map.set(source, task);
    }
    return map;
  }, [tasks]);
  const latestFor = useCallback((source: string) => bySource.get(source), [bySource]);

  return { tasks, error, reload, upsert, resolutions: allResolutions, confirmations, resolve, latestFor };
}

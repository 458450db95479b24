import { useCallback, useEffect, useRef, useState } from 'react';
import { useStudioEvent } from '../events.tsx';
import { laterRecord } from '../tasks.ts';
import { isFinalState, type TaskRecord } from '../types.ts';
import { useTaskEvents } from './useTaskEvents.ts';

export interface FollowedTask {
  /** The task being followed, null before `follow` (or after `reset`). */
  taskId: string | null;
  /** Its latest record; null until the first one arrives. */
  task: TaskRecord | null;
  /** Still queued or running (or not heard from yet). */
  following: boolean;
  follow: (id: string, record?: TaskRecord | null) => void;
  reset: () => void;
}

/**
 * Follows one task at a time: its own stream while it runs, plus the app's shared stream (the two may
 * disagree in order, so the later record wins). `onFinal` is called once when the task ends.
 */
export function useFollowedTask(onFinal?: (task: TaskRecord) => void): FollowedTask {
  const [taskId, setTaskId] = useState<string | null>(null);
  const [task, setTask] = useState<TaskRecord | null>(null);
  const reported = useRef<string | null>(null);
  const latestOnFinal = useRef(onFinal);
  useEffect(() => {
    latestOnFinal.current = onFinal;
  });

  const following = taskId !== null && (task === null || !isFinalState(task.state));

  const onRecord = (record: TaskRecord) => {
    if (record.id !== taskId) return;
    setTask((current) => (current === null || current.id !== record.id ? record : laterRecord(current, record)));
  };
  useTaskEvents(following ? taskId : null, onRecord);
  useStudioEvent('task', onRecord);

  useEffect(() => {
    if (task === null || !isFinalState(task.state) || reported.current === task.id) return;
    reported.current = task.id;
    latestOnFinal.current?.(task);
  }, [task]);

  const follow = useCallback((id: string, record: TaskRecord | null = null) => {
    setTaskId(id);
    setTask(record !== null && record.id === id ? record : null);
  }, []);
  const reset = useCallback(() => {
    setTaskId(null);
    setTask(null);
  }, []);

  return { taskId, task, following, follow, reset };
}

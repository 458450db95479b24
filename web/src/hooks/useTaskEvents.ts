import { useEffect, useRef } from 'react';
import { apiPath } from '../api.ts';
import { parseEventData } from '../events.tsx';
import { isFinalState, type TaskRecord } from '../types.ts';

/**
 * Follows one task's stream (`/api/tasks/<id>/events`) while `taskId` is set. The stream is closed on
 * the first record in a final state, so EventSource does not reconnect to a finished task.
 */
export function useTaskEvents(taskId: string | null, onRecord: (record: TaskRecord) => void): void {
  const latest = useRef(onRecord);
  useEffect(() => {
    latest.current = onRecord;
  });

  useEffect(() => {
    if (taskId === null) return;
    const source = new EventSource(apiPath('/api/tasks', taskId, '/events'));
    source.addEventListener('task', (event) => {
      const record = parseEventData(event) as TaskRecord | undefined;
      if (!record || record.id !== taskId) return;
      latest.current(record);
      if (isFinalState(record.state)) source.close();
    });
    return () => source.close();
  }, [taskId]);
}

/**
 * The studio's live stream (`/api/events`): one EventSource for the whole app, shared through context.
 * Events arrive as JSON in `data:` under the names `task` and `security`. EventSource reconnects by
 * itself after a dropped connection; when the server refuses the stream outright the browser gives up,
 * so the app opens a new one after a pause.
 */
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { api } from './api.ts';
import type { SecurityEvent, TaskRecord } from './types.ts';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

interface StudioEventMap {
  task: TaskRecord;
  security: SecurityEvent;
}
type StudioEventName = keyof StudioEventMap;
type Listener = (payload: unknown) => void;

interface StudioEvents {
  state: ConnectionState;
  subscribe: (name: StudioEventName, listener: Listener) => () => void;
}

const RETRY_AFTER_CLOSE_MS = 5_000;
const EVENT_NAMES: StudioEventName[] = ['task', 'security'];

const StudioEventsContext = createContext<StudioEvents | null>(null);

export function parseEventData(event: Event): unknown {
  if (!(event instanceof MessageEvent) || typeof event.data !== 'string') return undefined;
  try {
    return JSON.parse(event.data) as unknown;
  } catch {
    return undefined;
  }
}

export function StudioEventsProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<ConnectionState>('connecting');
  const listeners = useRef(new Map<StudioEventName, Set<Listener>>());
  const [subscribe] = useState(() => (name: StudioEventName, listener: Listener) => {
    let set = listeners.current.get(name);
    if (!set) {
      set = new Set();
      listeners.current.set(name, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  });

  useEffect(() => {
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;

    const open = () => {
      source = new EventSource('/api/events');
      source.onopen = () => setState('live');
      source.onerror = () => {
        if (source?.readyState === EventSource.CLOSED) {
          source.close();
          setState('offline');
          // A refused stream often means the session ended; a 401 here switches the app to "Not paired".
          api.get('/api/session').catch(() => undefined);
          retry = setTimeout(open, RETRY_AFTER_CLOSE_MS);
        } else {
          setState('reconnecting');
        }
      };
      for (const name of EVENT_NAMES) {
        source.addEventListener(name, (event) => {
          const payload = parseEventData(event);
          if (payload === undefined) return;
          for (const listener of listeners.current.get(name) ?? []) listener(payload);
        });
      }
    };

    open();
    return () => {
      clearTimeout(retry);
      source?.close();
    };
  }, []);

  return <StudioEventsContext value={{ state, subscribe }}>{children}</StudioEventsContext>;
}

function useStudioEvents(): StudioEvents {
  const context = useContext(StudioEventsContext);
  if (!context) throw new Error('useStudioEvents needs a StudioEventsProvider above it');
  return context;
}

export function useConnectionState(): ConnectionState {
  return useStudioEvents().state;
}

/** Calls `handler` for every studio event of `name`; the latest handler is always the one used. */
export function useStudioEvent<N extends StudioEventName>(
  name: N,
  handler: (payload: StudioEventMap[N]) => void,
): void {
  const { subscribe } = useStudioEvents();
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(
    () => subscribe(name, (payload) => latest.current(payload as StudioEventMap[N])),
    [name, subscribe],
  );
}

/**
 * Caption texts for the gallery, fetched one image at a time as cards come into view and kept until an
 * edit changes them. Edits that report their changes update the cache in place; undo clears it.
 */
import { useEffect, useSyncExternalStore } from 'react';
import { api, toApiError } from '../../api.ts';
import { captionPath, splitImageKey } from './paths.ts';
import type { CaptionChange, CaptionRecord } from './types.ts';

export type CaptionEntry =
  | { state: 'loading' }
  | { state: 'ready'; exists: boolean; text: string }
  | { state: 'error'; message: string };

export class CaptionCache {
  private readonly entries = new Map<string, CaptionEntry>();
  private readonly listeners = new Set<() => void>();
  private generation = 0;

  constructor(private readonly dataset: string) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  get(key: string): CaptionEntry | undefined {
    return this.entries.get(key);
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }

  /** Fetches the caption unless it is known or on its way. */
  load(key: string): void {
    if (this.entries.has(key)) return;
    const generation = this.generation;
    this.entries.set(key, { state: 'loading' });
    this.emit();
    const { subset, file } = splitImageKey(key);
    api
      .get<CaptionRecord>(captionPath(this.dataset, subset, file))
      .then((record) => this.settle(generation, key, { state: 'ready', exists: record.exists, text: record.text }))
      .catch((cause: unknown) => this.settle(generation, key, { state: 'error', message: toApiError(cause).message }));
  }

  private settle(generation: number, key: string, entry: CaptionEntry): void {
    // A clear() since this fetch started means its answer may be stale: it is dropped and fetched again.
    if (generation !== this.generation) return;
    this.entries.set(key, entry);
    this.emit();
  }

  set(key: string, text: string): void {
    this.entries.set(key, { state: 'ready', exists: true, text });
    this.emit();
  }

  apply(changes: readonly CaptionChange[]): void {
    for (const change of changes) this.entries.set(change.image, { state: 'ready', exists: true, text: change.after });
    if (changes.length > 0) this.emit();
  }

  clear(): void {
    this.generation += 1;
    this.entries.clear();
    this.emit();
  }
}

/** The caption of `key`, fetched once `wanted` (the card is on screen). */
export function useCaption(cache: CaptionCache, key: string, wanted: boolean): CaptionEntry | undefined {
  const entry = useSyncExternalStore(cache.subscribe, () => cache.get(key));
  useEffect(() => {
    if (wanted && entry === undefined) cache.load(key);
  }, [cache, key, wanted, entry]);
  return entry;
}

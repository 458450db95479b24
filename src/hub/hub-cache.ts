/**
 * A short-lived memory of browse answers (searches, a repo's file list, a Civitai version), so paging
 * through the Find page or repeating `lorasmith search` does not ask the hub again within a few minutes.
 * Pulls never read it: a pull always asks the provider afresh.
 *
 * Keys are built from the provider, the kind of call, the normalised parameters and whether a token was
 * sent — never from the token itself. When a provider's token changes (`lorasmith login`, Settings) that
 * provider's answers are dropped, since another account may see other (gated, private) results.
 * Failures are not kept. Bounded: the oldest entry goes first.
 */
import { createHash } from 'node:crypto';

export const HUB_CACHE_TTL_MS = 5 * 60_000;
export const HUB_CACHE_MAX_ENTRIES = 256;

export type CacheProvider = 'hf' | 'civitai';

export interface HubCacheOptions {
  ttlMs?: number;
  maxEntries?: number;
  /** Injectable clock in ms (tests). */
  now?: () => number;
}

interface Entry {
  provider: CacheProvider;
  expires: number;
  value: unknown;
}

type KeyValue = string | number | boolean | null | undefined | readonly string[];

/** Parameters in a stable order, text trimmed and lower-cased where the hub ignores case, lists sorted. */
function canonical(params: Readonly<Record<string, KeyValue>>): string {
  return JSON.stringify(
    Object.keys(params)
      .sort()
      .filter((key) => params[key] !== undefined)
      .map((key) => {
        const value = params[key];
        return [key, Array.isArray(value) ? [...(value as readonly string[])].sort() : value];
      }),
  );
}

export class HubCache {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** A digest of each provider's token as last seen, kept in memory only, to notice a change. */
  readonly #tokens = new Map<CacheProvider, string>();

  constructor(options: HubCacheOptions = {}) {
    this.#ttlMs = options.ttlMs ?? HUB_CACHE_TTL_MS;
    this.#maxEntries = options.maxEntries ?? HUB_CACHE_MAX_ENTRIES;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Called with the provider's current token (or none) before each use: a different one empties that provider's entries. */
  noteToken(provider: CacheProvider, token: string | null | undefined): void {
    const digest = token === null || token === undefined || token === '' ? '' : createHash('sha256').update(token).digest('hex');
    const previous = this.#tokens.get(provider);
    this.#tokens.set(provider, digest);
    if (previous !== undefined && previous !== digest) {
      for (const [key, entry] of this.#entries) if (entry.provider === provider) this.#entries.delete(key);
    }
  }

  /** The kept answer for this call, or `load()`'s (kept when it succeeds). A copy either way: callers may change it. */
  async remember<T>(key: { provider: CacheProvider; call: string; authenticated: boolean; params: Readonly<Record<string, KeyValue>> }, load: () => Promise<T>): Promise<T> {
    const text = `${key.provider} ${key.call} ${key.authenticated ? 'token' : 'anonymous'} ${canonical(key.params)}`;
    const now = this.#now();
    const hit = this.#entries.get(text);
    if (hit !== undefined && hit.expires > now) return structuredClone(hit.value) as T;
    if (hit !== undefined) this.#entries.delete(text);
    const value = await load();
    this.#entries.delete(text);
    this.#entries.set(text, { provider: key.provider, expires: this.#now() + this.#ttlMs, value: structuredClone(value) });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    return value;
  }

  clear(): void {
    this.#entries.clear();
  }
}

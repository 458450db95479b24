/**
 * Auth-failure backoff (WEB-R11): after too many failed credentials in a minute, further requests with
 * bad or missing credentials get 429 for the backoff period. A valid cookie or token is never blocked,
 * since any web page can send failing requests to a loopback port.
 */
import type { SecurityEvents } from '../access/security-events.ts';
import type { SettingsStore } from '../core/settings.ts';

export class AuthBackoff {
  readonly #now: () => number;
  #failures: number[] = [];
  #blockedUntil = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Record a failure; true when this failure starts a backoff. */
  fail(limits: { perMinute: number; backoffMinutes: number }): boolean {
    const now = this.#now();
    this.#failures = this.#failures.filter((at) => now - at < 60_000);
    this.#failures.push(now);
    if (this.#failures.length > limits.perMinute && now >= this.#blockedUntil) {
      this.#blockedUntil = now + limits.backoffMinutes * 60_000;
      this.#failures = [];
      return true;
    }
    return false;
  }

  /** Seconds until unauthenticated requests are heard again, or 0. */
  retryAfterSeconds(): number {
    const left = this.#blockedUntil - this.#now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }
}

/** Record a failed credential (bad cookie, token or pairing code) as a security event and in the backoff. */
export function createAuthFailureRecorder(params: { backoff: AuthBackoff; settings: SettingsStore; events: SecurityEvents }) {
  return async function recordAuthFailure(detail: string, remote: string): Promise<{ retryAfterSeconds: number }> {
    const limits = (await params.settings.get()).rateLimits;
    await params.events.record('auth-failed', detail, remote);
    if (params.backoff.fail({ perMinute: limits.authFailuresPerMinute, backoffMinutes: limits.authBackoffMinutes })) {
      await params.events.record('auth-backoff', `too many failed credentials; refusing them for ${limits.authBackoffMinutes} min`, remote);
    }
    return { retryAfterSeconds: params.backoff.retryAfterSeconds() };
  };
}

export type AuthFailureRecorder = ReturnType<typeof createAuthFailureRecorder>;

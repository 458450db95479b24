/**
 * HF-R06: distinct messages for the Hub's refusals, never retried: gated (401 → log in and accept the
 * licence; 403 → not yet approved), a bad token (401 "Invalid credentials"), private or missing
 * (bare 401 / RepoNotFound), no read scope or a disabled repository (403). Messages name the repository
 * and never carry a token or a signed URL.
 */
import type { LorasmithError } from '../../core/errors.ts';
import { hubError } from '../hub-error.ts';
import { statusError } from '../http-status-error.ts';
import type { ApiFailure } from '../hub-network.ts';

function bodyMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const value = typeof record.error === 'string' ? record.error : typeof record.message === 'string' ? record.message : undefined;
  return value?.slice(0, 200);
}

export function hfError(failure: ApiFailure, what: string): LorasmithError {
  const { status } = failure;
  const code = failure.headers['x-error-code'];
  const providerMessage = failure.headers['x-error-message'] ?? bodyMessage(failure.body) ?? '';
  const details = { status, provider: 'hf', ...(code === undefined ? {} : { providerCode: code.slice(0, 40) }) };
  if (code === 'GatedRepo' && status === 401) {
    return hubError({
      code: 'gated',
      message: `${what} is gated: log in and accept its licence on the Hugging Face website (HTTP 401).`,
      hint: 'Accept the licence on the model page, then save a token with `lorasmith login hf`.',
      details,
    });
  }
  if (code === 'GatedRepo' && status === 403) {
    return hubError({
      code: 'gated',
      message: `${what} is gated and access has not been granted to this account yet (HTTP 403).`,
      hint: 'Request access on the model page and wait for the authors to approve it.',
      details,
    });
  }
  if (status === 401 && /invalid (credentials|token|username)/i.test(providerMessage)) {
    return hubError({
      code: 'auth-required',
      message: 'Hugging Face refused the token: it is invalid, expired or revoked (HTTP 401).',
      hint: 'Create a new read token at huggingface.co/settings/tokens and save it with `lorasmith login hf`.',
      details,
    });
  }
  if (status === 401 || (status === 404 && code === 'RepoNotFound')) {
    return failure.credentialSent || status === 404
      ? hubError({
          code: 'not-found',
          message: `${what} does not exist, or it is private and this token cannot read it (HTTP ${status}).`,
          hint: 'Check the repo id; for a private repository use a token of an account that can read it.',
          details,
        })
      : hubError({
          code: 'auth-required',
          message: `${what} does not exist, or it is private and needs a login (HTTP 401).`,
          hint: 'Check the repo id; for a private repository save a token with `lorasmith login hf`.',
          details,
        });
  }
  if (status === 404 && code === 'RevisionNotFound') {
    return hubError({ code: 'not-found', message: `${what} has no such revision (HTTP 404).`, hint: 'Check the branch, tag or commit after "@".', details });
  }
  if (status === 404 && code === 'EntryNotFound') {
    return hubError({ code: 'not-found', message: `${what} has no such file at that revision (HTTP 404).`, hint: 'List the files with the studio’s Models page or check the path.', details });
  }
  if (status === 403) {
    if (/disabled/i.test(providerMessage)) {
      return hubError({ code: 'forbidden', message: `${what} is disabled on Hugging Face (HTTP 403).`, details });
    }
    return hubError({
      code: 'forbidden',
      message: `Hugging Face refused access to ${what}: the token lacks read permission for it (HTTP 403).`,
      hint: 'Use a token with read scope (a fine-grained token needs access to this repository).',
      details,
    });
  }
  if (status === 429) {
    return hubError({ code: 'rate-limited', message: `Hugging Face kept answering "too many requests" for ${what} (HTTP 429).`, hint: 'Wait a few minutes, then try again.', details });
  }
  return statusError({ status, headers: failure.headers, urlForLog: failure.urlForLog });
}

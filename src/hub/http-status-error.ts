/**
 * Map an HTTP error answer to a reason code (DESIGN.md §5, HF-R06, CV-R08). The message names the host
 * and path only; the provider clients may add provider-specific wording on top.
 */
import type { LorasmithError } from '../core/errors.ts';
import { hubError } from './hub-error.ts';

export interface StatusErrorParams {
  status: number;
  /** Response headers as safeFetch keeps them (lower-case). */
  headers: Readonly<Record<string, string>>;
  /** Scheme, host and path of the answering URL. */
  urlForLog: string;
}

export function statusError(params: StatusErrorParams): LorasmithError {
  const { status, urlForLog } = params;
  const errorCode = params.headers['x-error-code'];
  const details = { status, url: urlForLog, ...(errorCode === undefined ? {} : { providerCode: errorCode.slice(0, 40) }) };
  if ((status === 401 || status === 403) && errorCode === 'GatedRepo') {
    return hubError({
      code: 'gated',
      message: `${urlForLog} is gated: access has not been granted to this account (HTTP ${status}).`,
      hint: 'Log in on the provider website, accept the model licence, wait for approval, then try again.',
      details,
    });
  }
  switch (status) {
    case 401:
      return hubError({
        code: 'auth-required',
        message: `${urlForLog} needs a login, or the token is invalid or lacks access (HTTP 401).`,
        hint: 'Run `lorasmith login` with a token that can read this model.',
        details,
      });
    case 403:
      return hubError({
        code: 'forbidden',
        message: `${urlForLog} refused access (HTTP 403).`,
        hint: 'The token may lack read scope, the model may be in early access, or the repository is disabled.',
        details,
      });
    case 404:
      return hubError({ code: 'not-found', message: `${urlForLog} was not found (HTTP 404).`, hint: 'Check the model id, revision and file name.', details });
    case 410:
      return hubError({ code: 'gone', message: `${urlForLog} is gone (HTTP 410): the file was removed or archived.`, details });
    case 429:
      return hubError({ code: 'rate-limited', message: `${urlForLog} kept answering "too many requests" (HTTP 429).`, hint: 'Wait a while, then try again.', details });
    default:
      if (status >= 500) {
        return hubError({ code: 'network', message: `${urlForLog} failed with HTTP ${status}.`, hint: 'The server has a problem; try again later.', details });
      }
      return hubError({ code: 'invalid', message: `${urlForLog} answered HTTP ${status}, which lorasmith cannot use.`, details });
  }
}

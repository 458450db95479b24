/**
 * Is a stored hub token any good? Hugging Face `whoami`, Civitai `/api/v1/me`, each through the hub
 * context's origin-bound clients. The answer names the account, never the token.
 */
import { isLorasmithError } from '../core/errors.ts';
import type { HubContext } from './hub-context.ts';

export interface TokenCheck {
  provider: 'hf' | 'civitai';
  ok: boolean;
  account: string | null;
  message: string;
  hint?: string;
}

export async function checkHubToken(hub: HubContext, provider: 'hf' | 'civitai', signal?: AbortSignal): Promise<TokenCheck> {
  try {
    if (provider === 'hf') {
      const me = await hub.hf.client.whoAmI(signal);
      return { provider, ok: true, account: me.name, message: `Signed in to Hugging Face as ${me.name}.` };
    }
    const me = await hub.civitai.client.me(signal);
    if (me.username === null) return { provider, ok: false, account: null, message: 'Civitai did not accept the API key.', hint: 'Create a new key at civitai.com → Account settings → API keys.' };
    return { provider, ok: true, account: me.username, message: `Signed in to Civitai as ${me.username}.` };
  } catch (error) {
    if (!isLorasmithError(error)) throw error;
    return { provider, ok: false, account: null, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  }
}

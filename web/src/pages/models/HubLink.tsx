import type { ReactNode } from 'react';
import { NavLink } from '../../components/NavLink.tsx';
import { SETTINGS_ROUTE } from '../../router.ts';
import type { SecretName } from '../../types.ts';
import { safeHubUrl } from './hub.ts';

/** Whether a token is stored, per hub; a hub is missing while that is unknown. */
export interface TokenState {
  present: Partial<Record<SecretName, boolean>>;
}

/** A link only to https://huggingface.co/… or https://civitai.com/…; any other address is shown as text. */
export function HubLink({ url, children, testId }: { url: string; children?: ReactNode; testId?: string }) {
  const safe = safeHubUrl(url);
  if (safe === null) {
    return (
      <span className="mono table__wrap" data-testid={testId}>
        {url}
      </span>
    );
  }
  return (
    <a href={safe} target="_blank" rel="noopener noreferrer" referrerPolicy="no-referrer" className="hub-link" data-testid={testId}>
      {children ?? safe}
    </a>
  );
}

/** The secrets that are hub tokens (the store also holds a webhook URL). */
type HubSecret = Extract<SecretName, 'hf' | 'civitai'>;

const HUB_TOKEN: Record<HubSecret, string> = { hf: 'Hugging Face token', civitai: 'Civitai API key' };

/** Says that gated and private models need a token, and where to store one. */
export function TokenNote({ hub, className = 'refusal__hint' }: { hub: HubSecret; className?: string }) {
  return (
    <p className={className} data-testid={`token-note-${hub}`}>
      No {HUB_TOKEN[hub]} is stored in the studio: gated and private models need one —{' '}
      <NavLink to={SETTINGS_ROUTE.path}>Settings → Hub tokens</NavLink>.
    </p>
  );
}

/** Above a gated or private repository: what access takes. */
export function TokenHint({ hub, present, gated, repoUrl }: { hub: HubSecret; present: boolean | undefined; gated: boolean; repoUrl: string | null }) {
  return (
    <div className="notice notice--warn" data-testid="repo-access">
      <p className="notice__title">{gated ? 'This model is gated' : 'This model is private'}</p>
      {gated ? (
        <p>
          Its files download only after its licence is accepted on {repoUrl ? <HubLink url={repoUrl} /> : 'the model’s page'}, signed in
          with the account whose token the studio holds.
        </p>
      ) : (
        <p>Only an account with access can list and download it.</p>
      )}
      {present === false ? <TokenNote hub={hub} className="" /> : null}
    </div>
  );
}

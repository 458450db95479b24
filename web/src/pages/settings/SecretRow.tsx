import { useRef, useState, type FormEvent } from 'react';
import { api, apiPath } from '../../api.ts';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { useAction } from '../../hooks/useAction.ts';
import type { SecretEntry } from '../../types.ts';

/** A check of the stored secret, in words (a hub's whoami, a webhook's test delivery). */
export interface SecretCheck {
  ok: boolean;
  message: string;
  hint?: string;
}

interface Props {
  secret: SecretEntry;
  onChange: (entry: SecretEntry) => void;
  /** After a delete the list is fetched again: an environment variable may still provide the token. */
  onDeleted: () => void;
  /** The secret's route (PUT { value } / DELETE); default `/api/secrets/<name>`. */
  path?: string;
  /** The check button: its label and what it calls; default the hub token check (`<path>/check`). */
  check?: { label: string; pendingLabel: string; run: () => Promise<SecretCheck> };
  /** What the empty field asks for. */
  noun?: string;
}

const SOURCE_LABEL = { store: 'secret store', env: 'environment variable' } as const;

/**
 * One secret (a hub token, the webhook URL). The input is uncontrolled: the typed value lives only in the DOM
 * field, is read once when the form is sent, and the field is cleared as soon as the request ends.
 */
export function SecretRow({ secret, onChange, onDeleted, path = apiPath('/api/secrets', secret.name), check: checkAction, noun = 'token' }: Props) {
  const form = useRef<HTMLFormElement>(null);
  const inputId = `secret-input-${secret.name}`;

  const save = useAction(async (value: string) => {
    onChange(await api.put<SecretEntry>(path, { value }));
  });
  const remove = useAction(async () => {
    await api.delete(path);
    onDeleted();
  });
  const [checked, setChecked] = useState<SecretCheck | null>(null);
  // The hub's answer to "is this token any good?" (whoami / me) names the account, never the token.
  const check = useAction(async () => {
    setChecked(checkAction ? await checkAction.run() : await api.post<SecretCheck>(`${path}/check`, {}));
  });

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const field = event.currentTarget.elements.namedItem('value');
    if (!(field instanceof HTMLInputElement) || field.value === '') return;
    const value = field.value;
    void save.run(value).finally(() => form.current?.reset());
  };

  return (
    <li className="row" data-testid={`secret-row-${secret.name}`}>
      <div className="row__head">
        <span className="row__title">{secret.label}</span>
        <span className="row__meta">
          <span data-testid={`secret-masked-${secret.name}`} className={secret.present ? 'mono' : 'muted'}>
            {secret.present && secret.masked ? secret.masked : 'not set'}
          </span>
          {secret.source ? <span className="muted"> · from the {SOURCE_LABEL[secret.source]}</span> : null}
        </span>
      </div>
      <form ref={form} className="inline-form" onSubmit={onSubmit} aria-label={`Set ${secret.label}`}>
        <label className="visually-hidden" htmlFor={inputId}>
          New {secret.label}
        </label>
        <input
          id={inputId}
          name="value"
          type="password"
          className="input"
          autoComplete="off"
          autoCapitalize="off"
          spellCheck={false}
          required
          placeholder={secret.present ? `Replace ${noun}` : `Paste ${noun}`}
          data-testid={inputId}
        />
        <button type="submit" className="button button--small" disabled={save.pending} data-testid={`secret-save-${secret.name}`}>
          {save.pending ? 'Saving…' : 'Save'}
        </button>
        {secret.present ? (
          <button type="button" className="button button--small button--ghost" disabled={check.pending} onClick={() => void check.run()} data-testid={`secret-check-${secret.name}`}>
            {check.pending ? (checkAction?.pendingLabel ?? 'Checking…') : (checkAction?.label ?? 'Check')}
          </button>
        ) : null}
        {secret.source === 'store' ? (
          <ConfirmButton
            label="Delete"
            question={`Delete the stored ${secret.label}?`}
            onConfirm={() => void remove.run()}
            disabled={remove.pending}
            testId={`secret-delete-${secret.name}`}
          />
        ) : null}
      </form>
      {checked !== null ? (
        <p className={`row__note ${checked.ok ? 'check-ok' : 'check-failed'}`} data-testid={`secret-check-result-${secret.name}`} data-ok={checked.ok}>
          {checked.message}
          {checked.hint ? ` ${checked.hint}` : ''}
        </p>
      ) : null}
      {secret.source === 'env' ? (
        <p className="row__note muted">Set by an environment variable of the studio; unset it there to remove it.</p>
      ) : null}
      <ErrorBanner
        error={save.error ?? remove.error ?? check.error}
        onDismiss={() => {
          save.clearError();
          remove.clearError();
          check.clearError();
        }}
      />
    </li>
  );
}

import type { ApiError } from '../api.ts';
import { RichText } from './RichText.tsx';

interface Props {
  error: ApiError | null;
  onDismiss?: () => void;
  onRetry?: () => void;
}

/** Shows an API error's message and hint (both as text) where the failed action lives. */
export function ErrorBanner({ error, onDismiss, onRetry }: Props) {
  if (!error) return null;
  return (
    <div className="error-banner" role="alert" data-testid="error-banner" data-code={error.code}>
      <div className="error-banner__text">
        <p className="error-banner__message">
          <RichText text={error.message} />
        </p>
        {error.hint ? (
          <p className="error-banner__hint">
            <RichText text={error.hint} />
          </p>
        ) : null}
      </div>
      <div className="error-banner__actions">
        {onRetry ? (
          <button type="button" className="button button--small" onClick={onRetry}>
            Try again
          </button>
        ) : null}
        {onDismiss ? (
          <button type="button" className="button button--small button--ghost" onClick={onDismiss} aria-label="Dismiss error">
            Dismiss
          </button>
        ) : null}
      </div>
    </div>
  );
}

import { api, apiPath } from '../../api.ts';
import { CopyButton } from '../../components/CopyButton.tsx';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Time } from '../../components/Time.tsx';
import { useAction } from '../../hooks/useAction.ts';
import type { CivitaiLicense, ModelRecord } from '../../types.ts';
import { HubLink } from './HubLink.tsx';
import { civitaiModelUrl } from './hub.ts';

const COMMERCIAL_USES: Record<string, string> = {
  Image: 'sell generated images',
  RentCivit: 'run it on Civitai’s generator',
  Rent: 'run it on generation services',
  Sell: 'sell the model or merges',
};

/** Civitai's permission flags in words, one per line; unknown (null) flags are left out. */
function licenseLines(license: CivitaiLicense): Array<{ ok: boolean; text: string }> {
  const lines: Array<{ ok: boolean; text: string }> = [];
  if (license.allowCommercialUse.length === 0) lines.push({ ok: false, text: 'No commercial use' });
  else for (const use of license.allowCommercialUse) lines.push({ ok: true, text: `Commercial use: ${COMMERCIAL_USES[use] ?? use}` });
  if (license.allowNoCredit !== null) lines.push(license.allowNoCredit ? { ok: true, text: 'Use without crediting the creator' } : { ok: false, text: 'Credit the creator' });
  if (license.allowDerivatives !== null) lines.push(license.allowDerivatives ? { ok: true, text: 'Share merges and derivatives' } : { ok: false, text: 'No sharing of merges or derivatives' });
  if (license.allowDifferentLicense !== null) lines.push(license.allowDifferentLicense ? { ok: true, text: 'Derivatives may use other permissions' } : { ok: false, text: 'Derivatives keep these permissions' });
  return lines;
}

interface Props {
  model: ModelRecord;
  onChanged: (model: ModelRecord) => void;
}

/**
 * What Civitai says about the entry's main file, looked up by SHA-256: base model, trigger words and
 * licence. Shown as the uploader declared it; the studio's own fingerprint still decides kind and family.
 */
export function ModelCivitai({ model, onChanged }: Props) {
  const identify = useAction(async () => {
    onChanged(await api.post<ModelRecord>(apiPath('/api/models', model.id, '/identify'), {}));
  });
  const found = model.civitai;
  const link = found?.found === true && found.modelId !== null ? civitaiModelUrl(found.modelId, found.versionId ?? undefined) : null;

  return (
    <div className="subsection" data-testid="model-civitai" data-state={found === null ? 'unknown' : found.found ? 'found' : 'not-found'}>
      <h3 className="subsection__title">Civitai</h3>
      <ErrorBanner error={identify.error} onDismiss={identify.clearError} />
      {found === null ? (
        <p className="muted">Not looked up yet. The studio can ask Civitai about this file by its SHA-256 (nothing is uploaded).</p>
      ) : !found.found ? (
        <p className="muted" data-testid="model-civitai-none">
          Civitai knows no file with this SHA-256 (checked <Time iso={found.checkedAt} />).
        </p>
      ) : (
        <dl className="facts" data-testid="model-civitai-facts">
          <dt>Model</dt>
          <dd>
            {link ? <HubLink url={link}>{found.modelName ?? `model ${found.modelId ?? ''}`}</HubLink> : (found.modelName ?? '—')}
            {found.versionName ? <span className="muted"> — {found.versionName}</span> : null}
            {found.modelType ? <span className="badge badge--neutral badge--inline">{found.modelType}</span> : null}
          </dd>
          <dt>Base model</dt>
          <dd data-testid="model-civitai-base">{found.baseModel ?? <span className="muted">not given</span>}</dd>
          <dt>Trigger words</dt>
          <dd data-testid="model-civitai-words">
            {found.trainedWords.length === 0 ? (
              <span className="muted">none given</span>
            ) : (
              <span className="hash-row">
                <ul className="tag-chips">
                  {found.trainedWords.map((word, index) => (
                    <li key={index} className="tag-chips__item">
                      <span className="tag-chips__text">{word}</span>
                    </li>
                  ))}
                </ul>
                <CopyButton value={found.trainedWords.join(', ')} what="trigger words" testId="model-copy-words" />
              </span>
            )}
          </dd>
          <dt>Licence</dt>
          <dd data-testid="model-civitai-license">
            {found.license === null ? (
              <span className="muted">unknown (the model page could not be read)</span>
            ) : (
              <ul className="license">
                {licenseLines(found.license).map((line) => (
                  <li key={line.text} className={line.ok ? 'license__item license__item--ok' : 'license__item license__item--no'}>
                    {line.text}
                  </li>
                ))}
              </ul>
            )}
          </dd>
          <dt>Checked</dt>
          <dd>
            <Time iso={found.checkedAt} />
          </dd>
        </dl>
      )}
      <div>
        <button type="button" className="button button--small" onClick={() => void identify.run()} disabled={identify.pending} data-testid="model-identify">
          {identify.pending ? 'Asking Civitai…' : found === null ? 'Identify on Civitai' : 'Identify again'}
        </button>
      </div>
    </div>
  );
}

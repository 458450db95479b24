import { useMemo, useState, type FormEvent } from 'react';
import { api } from '../../api.ts';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Section } from '../../components/Section.tsx';
import { formatCount } from '../../format.ts';
import { useAction } from '../../hooks/useAction.ts';
import { plural, SEVERITY_BADGES, SEVERITY_LABELS } from './labels.ts';
import { datasetPath } from './paths.ts';
import type { DatasetDetail, LintFinding, LintReport, LintSeverity } from './types.ts';

const SEVERITIES: LintSeverity[] = ['error', 'warning', 'info'];
const RANK: Record<LintSeverity, number> = { error: 0, warning: 1, info: 2 };
const TOKEN_LENGTHS = [75, 150, 225] as const;

interface Props {
  dataset: DatasetDetail;
  onSelectImage: (key: string) => void;
}

function Finding({ finding, index, onSelectImage }: { finding: LintFinding; index: number; onSelectImage: (key: string) => void }) {
  return (
    <li className={`finding finding--${finding.severity}`} data-code={finding.code} data-severity={finding.severity}>
      <button type="button" className="finding__main" onClick={() => onSelectImage(finding.image)} title="Show this image" data-testid={`lint-finding-${index}`}>
        <span className="finding__head">
          <span className={`badge ${SEVERITY_BADGES[finding.severity]}`}>{SEVERITY_LABELS[finding.severity]}</span>
          <span className="mono finding__image">{finding.image}</span>
          <span className="mono muted finding__code">{finding.code}</span>
        </span>
        <span className="finding__message">{finding.message}</span>
        {finding.hint ? <span className="finding__hint muted">{finding.hint}</span> : null}
      </button>
      {finding.related && finding.related.length > 0 ? (
        <span className="finding__related">
          <span className="muted">See also </span>
          {finding.related.map((key, i) => (
            <span key={key}>
              {i > 0 ? ', ' : null}
              <button type="button" className="link-button mono" onClick={() => onSelectImage(key)}>
                {key}
              </button>
            </span>
          ))}
        </span>
      ) : null}
    </li>
  );
}

/** Checks the dataset before training: duplicates, small or extreme images, missing or overlong captions, a missing trigger. */
export function LintSection({ dataset, onSelectImage }: Props) {
  const [resolution, setResolution] = useState('1024');
  const [trigger, setTrigger] = useState('');
  const [maxTokenLength, setMaxTokenLength] = useState<(typeof TOKEN_LENGTHS)[number]>(225);
  const [report, setReport] = useState<LintReport | null>(null);
  const [shown, setShown] = useState<Set<LintSeverity>>(new Set(SEVERITIES));

  const reso = Number(resolution);
  const valid = Number.isInteger(reso) && reso >= 64;
  const run = useAction(async () => {
    const body: { resolution: number; trigger?: string; maxTokenLength: number } = { resolution: reso, maxTokenLength };
    if (trigger.trim() !== '') body.trigger = trigger.trim();
    setReport(await api.post<LintReport>(datasetPath(dataset.name, 'lint'), body));
  });

  const counts = useMemo(() => {
    const map: Record<LintSeverity, number> = { error: 0, warning: 0, info: 0 };
    for (const f of report?.findings ?? []) map[f.severity] += 1;
    return map;
  }, [report]);
  const findings = useMemo(
    () =>
      (report?.findings ?? [])
        .map((finding, index) => ({ finding, index }))
        .filter(({ finding }) => shown.has(finding.severity))
        .sort((a, b) => RANK[a.finding.severity] - RANK[b.finding.severity] || a.index - b.index),
    [report, shown],
  );

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (valid && !run.pending) void run.run();
  };
  const toggle = (severity: LintSeverity) =>
    setShown((current) => {
      const next = new Set(current);
      if (next.has(severity)) next.delete(severity);
      else next.add(severity);
      return next;
    });

  return (
    <Section id="dataset-lint" testId="lint" title="Check the dataset" description="Finds what would hurt training. Select a finding to see its image.">
      <form className="form-grid" onSubmit={onSubmit} aria-label="Dataset check options" noValidate>
        <label htmlFor="lint-resolution" className="label">
          Resolution
        </label>
        <div className="inline-form">
          <input id="lint-resolution" className="input input--number" type="number" min={64} step={64} value={resolution} onChange={(e) => setResolution(e.target.value)} data-testid="lint-resolution" />
          <span className="muted">px, the training resolution</span>
        </div>
        <label htmlFor="lint-trigger" className="label">
          Trigger
        </label>
        <input id="lint-trigger" className="input" value={trigger} onChange={(e) => setTrigger(e.target.value)} placeholder="optional, e.g. sks dog" autoComplete="off" spellCheck={false} data-testid="lint-trigger" />
        <label htmlFor="lint-tokens" className="label">
          Token limit
        </label>
        <select id="lint-tokens" className="input select" value={maxTokenLength} onChange={(e) => setMaxTokenLength(Number(e.target.value) as (typeof TOKEN_LENGTHS)[number])} data-testid="lint-max-tokens">
          {TOKEN_LENGTHS.map((n) => (
            <option key={n} value={n}>
              {n} tokens (max_token_length)
            </option>
          ))}
        </select>
        <span />
        <button type="submit" className="button button--small form-grid__submit" disabled={!valid || run.pending} data-testid="lint-run">
          {run.pending ? 'Checking…' : report ? 'Check again' : 'Check'}
        </button>
      </form>
      <ErrorBanner error={run.error} onDismiss={run.clearError} />
      {report ? (
        <div className="lint__result" data-testid="lint-findings" data-count={report.findings.length}>
          {report.findings.length === 0 ? (
            <p className="ok-line">No problems found in {plural(report.images, 'image')}.</p>
          ) : (
            <>
              <div className="chips" role="group" aria-label="Show findings of severity">
                <span className="muted lint__checked">
                  {plural(report.findings.length, 'finding')} in {plural(report.images, 'image')}:
                </span>
                {SEVERITIES.map((severity) => (
                  <button key={severity} type="button" className="chip" aria-pressed={shown.has(severity)} onClick={() => toggle(severity)} disabled={counts[severity] === 0} data-testid={`lint-show-${severity}`}>
                    {SEVERITY_LABELS[severity]} <span className="chip__count">{formatCount(counts[severity])}</span>
                  </button>
                ))}
              </div>
              <ul className="findings">
                {findings.map(({ finding, index }) => (
                  <Finding key={index} finding={finding} index={index} onSelectImage={onSelectImage} />
                ))}
              </ul>
            </>
          )}
        </div>
      ) : null}
    </Section>
  );
}

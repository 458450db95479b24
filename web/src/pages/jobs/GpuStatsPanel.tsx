import { useEffect, useState } from 'react';
import { toApiError, type ApiError } from '../../api.ts';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Section } from '../../components/Section.tsx';
import { jobsApi } from './jobsApi.ts';
import type { GpuStat, GpuStatsAnswer } from './types.ts';

const LIVE_POLL_MS = 2_000;
const IDLE_POLL_MS = 15_000;

function Meter({ label, value, max, text, testId }: { label: string; value: number | null; max: number; text: string; testId: string }) {
  return (
    <div className="gpu__meter">
      <span className="gpu__meter-label">{label}</span>
      <meter className="gpu__bar" min={0} max={max} value={value ?? 0} high={max * 0.9} optimum={0} aria-label={label} aria-valuetext={text} data-testid={testId} />
      <span className="gpu__meter-text num">{text}</span>
    </div>
  );
}

function GpuCard({ gpu }: { gpu: GpuStat }) {
  const used = gpu.memoryUsedMiB;
  const total = gpu.memoryTotalMiB;
  const gib = (mib: number) => (mib / 1024).toFixed(1);
  return (
    <li className="gpu" data-testid={`gpu-${gpu.index}`}>
      <p className="gpu__name">
        GPU {gpu.index} <span className="muted mono gpu__uuid">{gpu.uuid}</span>
      </p>
      <Meter label="Utilisation" value={gpu.utilizationPct} max={100} text={gpu.utilizationPct === null ? 'n/a' : `${gpu.utilizationPct} %`} testId={`gpu-${gpu.index}-util`} />
      <Meter
        label="Memory"
        value={used}
        max={total ?? 1}
        text={used === null || total === null ? 'n/a' : `${gib(used)} / ${gib(total)} GiB`}
        testId={`gpu-${gpu.index}-memory`}
      />
      <p className="gpu__temp">
        <span className="muted">Temperature</span> <span className="num">{gpu.temperatureC === null ? 'n/a' : `${gpu.temperatureC} °C`}</span>
      </p>
    </li>
  );
}

/** The studio's GPU readings: `nvidia-smi` runs only while a job is active, so the panel says when they pause. */
export function GpuStatsPanel({ activeJobs }: { activeJobs: number }) {
  const [answer, setAnswer] = useState<GpuStatsAnswer | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [retry, setRetry] = useState(0);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      try {
        const next = await jobsApi.gpuStats();
        if (stopped) return;
        setAnswer(next);
        setError(null);
        timer = setTimeout(() => void read(), next.active ? LIVE_POLL_MS : IDLE_POLL_MS);
      } catch (cause) {
        if (!stopped) setError(toApiError(cause));
      }
    };
    void read();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
    // A job starting or ending (seen in the page's list) reads again at once.
  }, [retry, activeJobs]);

  const sample = answer?.sample ?? null;
  const at = sample === null ? null : new Date(sample.at).toLocaleTimeString();
  const description =
    answer === null
      ? 'Reading…'
      : answer.active
        ? `Live from nvidia-smi${at === null ? '' : `, read at ${at}`}.`
        : `Paused: nvidia-smi is asked only while a job runs.${at === null ? '' : ` Last reading at ${at}.`}`;

  return (
    <Section id="jobs-gpus" title="GPUs" description={description} testId="gpu-stats">
      <ErrorBanner error={error} onRetry={() => setRetry((n) => n + 1)} />
      {sample === null ? (
        answer === null ? null : (
          <p className="muted" data-testid="gpu-stats-none">
            No reading yet. Start a job to see utilisation, memory and temperature.
          </p>
        )
      ) : sample.state === 'ok' ? (
        <ul className="gpus" data-active={answer?.active ? 'true' : 'false'}>
          {sample.gpus.map((gpu) => (
            <GpuCard key={gpu.index} gpu={gpu} />
          ))}
        </ul>
      ) : (
        <p className={sample.state === 'error' ? 'gpu__problem' : 'muted'} data-testid="gpu-stats-problem" data-state={sample.state}>
          {sample.reason}
        </p>
      )}
    </Section>
  );
}

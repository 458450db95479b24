import { useState, type FormEvent } from 'react';
import { api } from '../../api.ts';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Section } from '../../components/Section.tsx';
import { formatCount } from '../../format.ts';
import { useAction } from '../../hooks/useAction.ts';
import { plural } from './labels.ts';
import { datasetPath } from './paths.ts';
import type { DatasetDetail, PlanRequest, PlanResult } from './types.ts';

interface Fields {
  resolution: string;
  enableBucket: boolean;
  minBucketReso: string;
  maxBucketReso: string;
  bucketResoSteps: string;
  bucketNoUpscale: boolean;
  batchSize: string;
  gradientAccumulationSteps: string;
  length: 'epochs' | 'steps';
  maxTrainEpochs: string;
  maxTrainSteps: string;
}

const INITIAL: Fields = {
  resolution: '1024',
  enableBucket: true,
  minBucketReso: '256',
  maxBucketReso: '2048',
  bucketResoSteps: '64',
  bucketNoUpscale: false,
  batchSize: '1',
  gradientAccumulationSteps: '1',
  length: 'epochs',
  maxTrainEpochs: '10',
  maxTrainSteps: '1600',
};

const whole = (value: string, min: number): number | null => {
  const n = Number(value);
  return value.trim() !== '' && Number.isInteger(n) && n >= min ? n : null;
};

function requestOf(f: Fields): PlanRequest | null {
  const numbers = {
    resolution: whole(f.resolution, 64),
    minBucketReso: whole(f.minBucketReso, 64),
    maxBucketReso: whole(f.maxBucketReso, 64),
    bucketResoSteps: whole(f.bucketResoSteps, 1),
    batchSize: whole(f.batchSize, 1),
    gradientAccumulationSteps: whole(f.gradientAccumulationSteps, 1),
  };
  if (Object.values(numbers).some((n) => n === null)) return null;
  const base = { ...(numbers as Record<keyof typeof numbers, number>), enableBucket: f.enableBucket, bucketNoUpscale: f.bucketNoUpscale };
  if (f.length === 'epochs') {
    const epochs = whole(f.maxTrainEpochs, 1);
    return epochs === null ? null : { ...base, maxTrainEpochs: epochs };
  }
  const steps = whole(f.maxTrainSteps, 1);
  return steps === null ? null : { ...base, maxTrainSteps: steps };
}

function NumberField({ id, label, value, onChange, step = 1, disabled }: { id: string; label: string; value: string; onChange: (v: string) => void; step?: number; disabled?: boolean }) {
  return (
    <>
      <label htmlFor={id} className="label">
        {label}
      </label>
      <input id={id} className="input input--number" type="number" min={step} step={step} value={value} onChange={(e) => onChange(e.target.value)} disabled={disabled} data-testid={id} />
    </>
  );
}

function BucketChart({ buckets }: { buckets: PlanResult['buckets'] }) {
  const sorted = [...buckets].sort((a, b) => a.width / a.height - b.width / b.height);
  const most = Math.max(1, ...buckets.map((b) => b.images));
  return (
    <div className="buckets" data-testid="bucket-chart" data-count={buckets.length}>
      <p className="subsection__title">Buckets</p>
      {sorted.length === 0 ? (
        <p className="muted">No image fits a bucket.</p>
      ) : (
        <ul className="buckets__list">
          {sorted.map((b) => (
            <li key={`${b.width}x${b.height}`} className="buckets__row" data-testid={`bucket-${b.width}x${b.height}`}>
              <span className="buckets__label mono">
                {b.width}×{b.height}
              </span>
              <progress className="bar buckets__bar" max={most} value={b.images} aria-label={`${b.width}×${b.height}: ${plural(b.images, 'image')}`} />
              <span className="buckets__count num">{formatCount(b.images)}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function StepsSummary({ steps }: { steps: PlanResult['steps'] }) {
  return (
    <dl className="facts steps-summary" data-testid="steps-summary">
      <dt>Batches per epoch</dt>
      <dd data-testid="steps-batches">
        {formatCount(steps.batchesPerEpoch)}
      </dd>
      <dt>Steps per epoch</dt>
      <dd data-testid="steps-per-epoch">{formatCount(steps.stepsPerEpoch)}</dd>
      <dt>Epochs</dt>
      <dd data-testid="steps-epochs">{formatCount(steps.epochs)}</dd>
      <dt>Total steps</dt>
      <dd className="steps-summary__total" data-testid="steps-total">
        {formatCount(steps.maxTrainSteps)}
      </dd>
    </dl>
  );
}

/** kohya's bucketing and step arithmetic for this dataset, before any training starts. */
export function PlanSection({ dataset }: Props) {
  const [fields, setFields] = useState<Fields>(INITIAL);
  const [result, setResult] = useState<PlanResult | null>(null);
  const set = (patch: Partial<Fields>) => setFields((f) => ({ ...f, ...patch }));
  const request = requestOf(fields);
  const run = useAction(async () => {
    if (request) setResult(await api.post<PlanResult>(datasetPath(dataset.name, 'plan'), request));
  });
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (request && !run.pending) void run.run();
  };
  const noBuckets = !fields.enableBucket;

  return (
    <Section id="dataset-plan" testId="plan" title="Buckets and steps" description="How kohya would group the images by size, and how many steps training would take. Repeats come from the subsets.">
      <div className="plan">
        <form className="form-grid plan__form" onSubmit={onSubmit} aria-label="Bucket and step settings" noValidate>
          <NumberField id="plan-resolution" label="Resolution" value={fields.resolution} onChange={(v) => set({ resolution: v })} step={64} />
          <span className="label">Buckets</span>
          <div className="inline-form">
            <label className="checkbox">
              <input type="checkbox" checked={fields.enableBucket} onChange={(e) => set({ enableBucket: e.target.checked })} data-testid="plan-enable-bucket" />
              Aspect-ratio buckets
            </label>
            <label className="checkbox">
              <input type="checkbox" checked={fields.bucketNoUpscale} onChange={(e) => set({ bucketNoUpscale: e.target.checked })} disabled={noBuckets} data-testid="plan-no-upscale" />
              No upscale
            </label>
          </div>
          <span className="label">Bucket range</span>
          <div className="inline-form">
            <label className="visually-hidden" htmlFor="plan-min">
              Smallest bucket side
            </label>
            <input id="plan-min" className="input input--number" type="number" min={64} step={64} value={fields.minBucketReso} onChange={(e) => set({ minBucketReso: e.target.value })} disabled={noBuckets} data-testid="plan-min" />
            <span className="muted">to</span>
            <label className="visually-hidden" htmlFor="plan-max">
              Largest bucket side
            </label>
            <input id="plan-max" className="input input--number" type="number" min={64} step={64} value={fields.maxBucketReso} onChange={(e) => set({ maxBucketReso: e.target.value })} disabled={noBuckets} data-testid="plan-max" />
            <span className="muted">step</span>
            <label className="visually-hidden" htmlFor="plan-step">
              Bucket side step
            </label>
            <input id="plan-step" className="input input--number input--short" type="number" min={1} step={1} value={fields.bucketResoSteps} onChange={(e) => set({ bucketResoSteps: e.target.value })} disabled={noBuckets} data-testid="plan-step" />
          </div>
          <span className="label">Batch</span>
          <div className="inline-form">
            <label className="visually-hidden" htmlFor="plan-batch">
              Batch size
            </label>
            <input id="plan-batch" className="input input--number input--short" type="number" min={1} step={1} value={fields.batchSize} onChange={(e) => set({ batchSize: e.target.value })} data-testid="plan-batch" />
            <span className="muted">× gradient accumulation</span>
            <label className="visually-hidden" htmlFor="plan-accum">
              Gradient accumulation steps
            </label>
            <input id="plan-accum" className="input input--number input--short" type="number" min={1} step={1} value={fields.gradientAccumulationSteps} onChange={(e) => set({ gradientAccumulationSteps: e.target.value })} data-testid="plan-accum" />
          </div>
          <span className="label">Length</span>
          <div className="inline-form">
            <select className="input select select--narrow" value={fields.length} onChange={(e) => set({ length: e.target.value === 'steps' ? 'steps' : 'epochs' })} aria-label="Train for" data-testid="plan-length">
              <option value="epochs">Epochs</option>
              <option value="steps">Steps</option>
            </select>
            {fields.length === 'epochs' ? (
              <input className="input input--number" type="number" min={1} step={1} value={fields.maxTrainEpochs} onChange={(e) => set({ maxTrainEpochs: e.target.value })} aria-label="Epochs" data-testid="plan-epochs" />
            ) : (
              <input className="input input--number" type="number" min={1} step={1} value={fields.maxTrainSteps} onChange={(e) => set({ maxTrainSteps: e.target.value })} aria-label="Steps" data-testid="plan-steps" />
            )}
          </div>
          <span />
          <button type="submit" className="button button--small form-grid__submit" disabled={request === null || run.pending} data-testid="plan-run">
            {run.pending ? 'Working it out…' : 'Plan'}
          </button>
        </form>
        <div className="plan__result">
          <ErrorBanner error={run.error} onDismiss={run.clearError} />
          {result ? (
            <>
              <StepsSummary steps={result.steps} />
              <BucketChart buckets={result.buckets} />
            </>
          ) : run.error ? null : (
            <p className="muted plan__empty">Set the options and press Plan to see the buckets and the step count.</p>
          )}
        </div>
      </div>
    </Section>
  );
}

interface Props {
  dataset: DatasetDetail;
}

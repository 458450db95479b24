import { formatBytes, formatCount } from '../../format.ts';
import type { FluxflowRunPlan, RunPlan, VramFit } from './types.ts';

/** "1 h 5 min", "12 min", "40 s". */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  if (h > 0) return `${h} h ${m} min`;
  return m > 0 ? `${m} min` : `${Math.round(seconds)} s`;
}

const FIT: Record<VramFit, { badge: string; label: string }> = {
  fits: { badge: 'badge--ok', label: 'Fits' },
  tight: { badge: 'badge--warn', label: 'Tight' },
  'too-big': { badge: 'badge--failed', label: 'Too big' },
  unknown: { badge: 'badge--neutral', label: 'Not checked' },
};

const gib = (value: number): string => `${value.toLocaleString(undefined, { maximumFractionDigits: 1, minimumFractionDigits: 1 })} GiB`;
const plural = (count: number, one: string, many = `${one}s`): string => `${formatCount(count)} ${count === 1 ? one : many}`;

function Steps({ plan }: { plan: RunPlan }) {
  const { steps } = plan;
  return (
    <dd data-testid="plan-steps">
      <strong>{formatCount(steps.total)}</strong>{' '}
      <span className="muted">
        {plural(steps.epochs, 'epoch')} × {plural(steps.perEpoch, 'step')}
        {steps.processes > 1 ? ` on ${steps.processes} GPUs` : ''}
      </span>
    </dd>
  );
}

function Time({ plan }: { plan: RunPlan }) {
  const { time } = plan;
  return (
    <dd data-testid="plan-time">
      {time.seconds === null ? (
        <strong>Unknown</strong>
      ) : (
        <>
          <strong>about {formatDuration(time.seconds)}</strong> <span className="muted">at {time.itPerSecond} it/s</span>
        </>
      )}
      <p className="train-plan__note muted">{time.seconds === null ? time.note.replace(/^Unknown: /, '') : time.note}</p>
    </dd>
  );
}

function Memory({ plan }: { plan: RunPlan }) {
  const { vram, gpu } = plan;
  // Without a device list the GPU row says why; here only that nothing was compared.
  const note = vram.freeGb === null ? `Not compared with free memory: ${gpu.mode === 'cpu' ? 'no GPU (CPU mode)' : 'the GPU state is unknown'}.` : vram.message;
  const fit = FIT[vram.fit];
  return (
    <dd data-testid="plan-vram" data-fit={vram.fit}>
      <div className="train-plan__line">
        <span className={`badge ${fit.badge}`}>{fit.label}</span>
        <span>
          <strong>{gib(vram.estimateGb)}</strong> estimated{vram.freeGb === null ? '' : ` · ${gib(vram.freeGb)} free`}
        </span>
      </div>
      {vram.freeGb !== null ? (
        <meter
          className="train-plan__meter"
          min={0}
          max={Math.max(vram.freeGb * vram.margin, vram.estimateGb)}
          low={vram.freeGb * 0.9}
          high={vram.freeGb}
          optimum={0}
          value={vram.estimateGb}
          aria-label={`Estimated GPU memory ${gib(vram.estimateGb)} against ${gib(vram.freeGb)} free`}
        />
      ) : null}
      <p className="train-plan__note muted">{note}</p>
      {vram.fixes.length > 0 ? (
        <details className="train-plan__more" open={vram.fit === 'too-big'}>
          <summary>Ways to fit ({vram.fixes.length})</summary>
          <ul className="train-plan__list">
            {vram.fixes.map((fix) => (
              <li key={fix}>{fix}</li>
            ))}
          </ul>
        </details>
      ) : null}
    </dd>
  );
}

function Gpu({ plan }: { plan: RunPlan }) {
  const { gpu, vram } = plan;
  if (gpu.mode !== 'gpu') {
    return (
      <dd data-testid="plan-gpu">
        <strong>{gpu.mode === 'cpu' ? 'None: CPU mode' : 'Unknown'}</strong>
        <p className="train-plan__note muted">{gpu.reason}</p>
      </dd>
    );
  }
  const used = gpu.devices.filter((device) => vram.gpuIndices.includes(device.index));
  return (
    <dd data-testid="plan-gpu">
      {used.map((device) => (
        <div key={device.index}>
          <strong>
            GPU {device.index}: {device.name}
          </strong>{' '}
          <span className="muted">{formatBytes(device.memoryTotalMiB * 1024 * 1024)}, driver {device.driverVersion}</span>
        </div>
      ))}
      {gpu.devices.length > used.length ? <p className="train-plan__note muted">{plural(gpu.devices.length, 'GPU')} found; the run uses the one with the most free memory.</p> : null}
    </dd>
  );
}

function Disk({ plan }: { plan: RunPlan }) {
  const { disk } = plan;
  return (
    <dd data-testid="plan-disk">
      <strong>up to {formatBytes(disk.bytes)}</strong>
      {disk.freeBytes === null ? null : <span className="muted"> · {formatBytes(disk.freeBytes)} free</span>}
      <details className="train-plan__more">
        <summary>What the run writes</summary>
        <ul className="train-plan__list">
          {disk.items.map((item) => (
            <li key={item.what}>
              {item.what}: {item.count === 1 ? formatBytes(item.bytes) : `${formatCount(item.count)} × ${formatBytes(item.bytesEach)}`}
            </li>
          ))}
        </ul>
      </details>
    </dd>
  );
}

interface Props {
  plan: RunPlan | null | undefined;
  /** Why there is no plan yet, when there is none. */
  waiting: string | null;
}

/** Steps, time, GPU memory fit and disk, as the dry run planned them. */
export function PlanPanel({ plan, waiting }: Props) {
  if (!plan) {
    return (
      <div className="train-plan" data-testid="plan-panel">
        <p className="muted">{waiting ?? 'The dry run gave no plan for this config.'}</p>
      </div>
    );
  }
  return (
    <div className="train-plan" data-testid="plan-panel">
      <dl className="facts train-plan__facts">
        <dt>Steps</dt>
        <Steps plan={plan} />
        <dt>Time</dt>
        <Time plan={plan} />
        <dt>GPU memory</dt>
        <Memory plan={plan} />
        <dt>GPU</dt>
        <Gpu plan={plan} />
        <dt>Disk</dt>
        <Disk plan={plan} />
        <dt>Output</dt>
        <dd>
          <code>{plan.outputFile}</code>
        </dd>
      </dl>
    </div>
  );
}

/** FluxFlow trains its own model from scratch: its plan is the pipeline's steps, the datasets and the output. */
export function FluxflowPlanPanel({ plan }: { plan: FluxflowRunPlan }) {
  return (
    <div className="train-plan" data-testid="plan-panel">
      <dl className="facts train-plan__facts">
        <dt>Pipeline</dt>
        <dd data-testid="plan-steps">
          {plan.steps.map((step) => (
            <div key={step.name}>
              <strong>{step.name}</strong>{' '}
              <span className="muted">
                {plural(step.nEpochs, 'epoch')}
                {step.maxSteps === undefined ? '' : `, at most ${plural(step.maxSteps, 'step')}`} on {step.dataset}
                {step.modes.length > 0 ? ` (${step.modes.join(', ')})` : ''}
              </span>
            </div>
          ))}
        </dd>
        <dt>Datasets</dt>
        <dd>
          {plan.datasets.map((dataset) => (
            <div key={dataset.name}>
              {dataset.name}: {plural(dataset.images, 'image')}
              {dataset.skipped > 0 ? <span className="muted"> · {formatCount(dataset.skipped)} without a caption skipped</span> : null}
            </div>
          ))}
        </dd>
        <dt>Start</dt>
        <dd>{plan.start === 'fresh' ? 'from scratch' : plan.start === 'fine-tune' ? 'fine-tune from a checkpoint' : 'resume from saved state'}</dd>
        <dt>GPU</dt>
        <dd>{plan.gpus === 0 ? 'none (CPU mode)' : plural(plan.gpus, 'GPU')}</dd>
        <dt>Output</dt>
        <dd>
          <code>{plan.output.file}</code> <span className="muted">(a fluxflow checkpoint)</span>
        </dd>
      </dl>
      {plan.notes.map((note) => (
        <p key={note} className="muted train-plan__note">
          {note}
        </p>
      ))}
    </div>
  );
}

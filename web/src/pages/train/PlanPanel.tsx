import type { ReactNode } from 'react';
import { formatBytes, formatCount } from '../../format.ts';
import { labelFor } from './schema.ts';

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return 'unknown';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min`;
  return `${Math.round(seconds)} s`;
}

function formatNumber(key: string, value: number): string {
  const lower = key.toLowerCase();
  if (lower.endsWith('bytes')) return formatBytes(value);
  if (lower.endsWith('seconds') || lower.endsWith('secs')) return formatSeconds(value);
  if (lower.endsWith('gb') || lower.endsWith('gib')) return `${value.toLocaleString(undefined, { maximumFractionDigits: 1 })} GB`;
  return Number.isInteger(value) ? formatCount(value) : value.toLocaleString(undefined, { maximumFractionDigits: 4 });
}

/** Any JSON value as text, a nested definition list or a list: the plan's shape is the server's to choose. */
function PlanValue({ name, value, depth }: { name: string; value: unknown; depth: number }): ReactNode {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return formatNumber(name, value);
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    if (value.length === 0) return <span className="muted">none</span>;
    if (value.every((v) => v === null || (typeof v !== 'object' && !/\s/.test(String(v))))) return value.map((v) => (v === null ? '—' : String(v))).join(', ');
    return (
      <ol className="train-plan__list">
        {value.map((v, i) => (
          <li key={i}>
            <PlanValue name={name} value={v} depth={depth + 1} />
          </li>
        ))}
      </ol>
    );
  }
  if (typeof value === 'object') {
    if (depth > 6) return <code>{JSON.stringify(value)}</code>;
    return <PlanFacts plan={value as Record<string, unknown>} depth={depth + 1} />;
  }
  return String(value);
}

function PlanFacts({ plan, depth }: { plan: Record<string, unknown>; depth: number }) {
  return (
    <dl className={`facts train-plan__facts${depth > 0 ? ' train-plan__facts--nested' : ''}`}>
      {Object.entries(plan).map(([key, value]) => (
        <div key={key} className="train-plan__row">
          <dt>{labelFor(key)}</dt>
          <dd>
            <PlanValue name={key} value={value} depth={depth} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

interface Props {
  plan: unknown;
  /** Why there is no plan yet, when there is none. */
  waiting: string | null;
}

/** Steps, epochs, time, memory fit and disk, as the dry run planned them. */
export function PlanPanel({ plan, waiting }: Props) {
  return (
    <div className="train-plan" data-testid="plan-panel">
      {plan !== null && plan !== undefined && typeof plan === 'object' && !Array.isArray(plan) ? (
        <PlanFacts plan={plan as Record<string, unknown>} depth={0} />
      ) : plan !== null && plan !== undefined ? (
        <p>
          <PlanValue name="plan" value={plan} depth={0} />
        </p>
      ) : (
        <p className="muted">{waiting ?? 'The dry run gave no plan for this config.'}</p>
      )}
    </div>
  );
}

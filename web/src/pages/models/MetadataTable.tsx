import { formatCount } from '../../format.ts';

/** Values up to this long, on one line, are shown in full; longer ones fold behind a preview. */
const INLINE_CHARS = 160;
const PREVIEW_CHARS = 120;

/** Metadata values are strings; many `ss_*` ones hold JSON, which reads better indented. */
function pretty(value: string): string {
  const trimmed = value.trim();
  if (!(trimmed.startsWith('{') || trimmed.startsWith('['))) return value;
  try {
    return JSON.stringify(JSON.parse(trimmed) as unknown, null, 2);
  } catch {
    return value;
  }
}

/** `modelspec.*` first, then the trainer's `ss_*` keys, then the rest, each alphabetically. */
function rank(key: string): number {
  if (key.startsWith('modelspec.')) return 0;
  if (key.startsWith('ss_')) return 1;
  return 2;
}

function Value({ value }: { value: string }) {
  if (value.length <= INLINE_CHARS && !value.includes('\n')) {
    return value === '' ? <span className="muted">(empty)</span> : <span className="meta__value">{value}</span>;
  }
  const preview = value.slice(0, PREVIEW_CHARS).replace(/\s+/g, ' ');
  return (
    <details className="meta__more">
      <summary>
        <span className="meta__preview">{preview}…</span> <span className="muted nowrap">({formatCount(value.length)} characters)</span>
      </summary>
      <pre className="meta__full">{pretty(value)}</pre>
    </details>
  );
}

/** The file's own metadata, as text only: nothing from it is ever interpreted as markup. */
export function MetadataTable({ metadata }: { metadata: Record<string, string> }) {
  const entries = Object.entries(metadata).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
  return (
    <div className="subsection" data-testid="model-metadata">
      <h3 className="subsection__title">
        Metadata <span className="subsection__count">{formatCount(entries.length)}</span>
      </h3>
      <div className="table-scroll">
        <table className="table table--fixed" data-testid="metadata-table">
          <colgroup>
            <col className="col--key" />
            <col />
          </colgroup>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {entries.length === 0 ? (
              <tr>
                <td colSpan={2} className="muted">
                  This file carries no metadata.
                </td>
              </tr>
            ) : (
              entries.map(([key, value]) => (
                <tr key={key} data-key={key}>
                  <td className="mono table__wrap meta__key">{key}</td>
                  <td className="table__wrap">
                    <Value value={typeof value === 'string' ? value : JSON.stringify(value)} />
                  </td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}

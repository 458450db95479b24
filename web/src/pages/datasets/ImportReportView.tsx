import { formatCount } from '../../format.ts';
import { plural } from './labels.ts';
import type { ImportReport } from './types.ts';

/** What a zip import produced: the subsets, how many images, and — prominently — every file it left out and why. */
export function ImportReportView({ report, onDismiss }: { report: ImportReport; onDismiss: () => void }) {
  const captioned = report.images.filter((image) => image.caption === true).length;
  const converted = report.images.filter((image) => image.reencoded === true).length;
  return (
    <section className="import-report" aria-label="Import report" data-testid="import-report" data-skipped={report.skipped.length}>
      <div className="import-report__head">
        <p className="import-report__title">
          Imported <span className="mono">{report.dataset}</span>: {plural(report.images.length, 'image')} in{' '}
          {plural(report.subsets.length, 'subset')}
          {captioned > 0 ? `, ${formatCount(captioned)} with captions` : ''}.
        </p>
        <button type="button" className="button button--small button--ghost" onClick={onDismiss} data-testid="import-report-dismiss">
          Dismiss
        </button>
      </div>
      {converted > 0 ? (
        <p className="muted">{plural(converted, 'image was', 'images were')} re-encoded (converted to PNG or turned upright from their EXIF orientation).</p>
      ) : null}
      {report.subsets.length > 0 ? (
        <ul className="subset-chips">
          {report.subsets.map((subset) => (
            <li key={subset.name} className="subset-chips__item">
              <span className="subset-chips__name">{subset.name}</span>
              <span className="muted">
                {plural(subset.imageCount, 'image')} · ×{subset.repeats}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      {report.skipped.length === 0 ? (
        <p className="import-report__clean" data-testid="import-report-clean">
          Nothing was skipped: every file in the archive was imported.
        </p>
      ) : (
        <div className="skipped" data-testid="import-skipped">
          <p className="skipped__title">
            {plural(report.skipped.length, 'file was', 'files were')} skipped — the import went on without {report.skipped.length === 1 ? 'it' : 'them'}:
          </p>
          <div className="table-scroll skipped__scroll">
            <table className="table table--fixed">
              <colgroup>
                <col className="col--path" />
                <col />
              </colgroup>
              <thead>
                <tr>
                  <th scope="col">File in the archive</th>
                  <th scope="col">Why it was skipped</th>
                </tr>
              </thead>
              <tbody>
                {report.skipped.map((skipped, index) => (
                  <tr key={`${skipped.path}\u0000${index}`}>
                    <td className="mono table__wrap">{skipped.path}</td>
                    <td className="table__wrap">{skipped.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </section>
  );
}

import { useMemo } from 'react';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { formatLoss, formatRate } from './jobFormat.ts';
import { MetricChart, type ChartLine } from './MetricChart.tsx';
import { isComponentLossTag, useRunMetrics } from './useRunMetrics.ts';

const LOSS_LINES: ChartLine[] = [
  { tag: 'loss/current', label: 'loss (step)', colour: 5, width: 1 },
  { tag: 'loss/average', label: 'loss (moving average)', colour: 0, width: 2 },
];

/** Loss and learning-rate charts of one run, fed incrementally from its TensorBoard (kohya) or JSONL (FluxFlow) files. */
export function RunCharts({ jobId, live }: { jobId: string; live: boolean }) {
  const metrics = useRunMetrics(jobId, live);
  const componentTags = Object.keys(metrics.series).filter(isComponentLossTag).sort().join('\n');
  const lossLines = useMemo<ChartLine[]>(
    // A run has one engine: FluxFlow's component losses, else kohya's step loss and its average.
    () => (componentTags === '' ? LOSS_LINES : componentTags.split('\n').map((tag, index) => ({ tag, label: tag.replace(/_loss$/, ''), colour: index, width: 1.5 }))),
    [componentTags],
  );
  const rateTags = Object.keys(metrics.series)
    .filter((tag) => tag.startsWith('lr/'))
    .sort()
    .join('\n');
  const rateLines = useMemo<ChartLine[]>(
    () => (rateTags === '' ? [] : rateTags.split('\n').map((tag, index) => ({ tag, label: tag.slice(3), colour: (index + 1) % 5, width: 1.5 }))),
    [rateTags],
  );

  return (
    <>
      <ErrorBanner error={metrics.error} />
      <div className="charts">
        <MetricChart title="Loss" lines={lossLines} series={metrics.series} format={formatLoss} testId="chart-loss" />
        <MetricChart title="Learning rate" lines={rateLines} series={metrics.series} format={formatRate} testId="chart-lr" />
      </div>
    </>
  );
}

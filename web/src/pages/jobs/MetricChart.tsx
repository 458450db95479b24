import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { MetricSeries } from './types.ts';

/** Line colours; styles.css has the same list as `.chart__swatch--N` for the legend below the chart. */
export const CHART_COLOURS = ['#4f46e5', '#f59e0b', '#0891b2', '#db2777', '#16a34a', '#64748b'] as const;

export interface ChartLine {
  tag: string;
  label: string;
  /** Index into CHART_COLOURS. */
  colour: number;
  width?: number;
}

function colourOf(line: ChartLine): string {
  return CHART_COLOURS[line.colour % CHART_COLOURS.length] as string;
}

interface Props {
  title: string;
  lines: ChartLine[];
  series: Record<string, MetricSeries>;
  /** How the y axis and the latest values are written. */
  format: (value: number) => string;
  testId: string;
}

const HEIGHT = 220;

/** The lines' points on one shared x axis (the union of their steps); a missing point is null (a gap). */
export function alignSeries(lines: readonly ChartLine[], series: Record<string, MetricSeries>): uPlot.AlignedData {
  const steps = new Set<number>();
  for (const line of lines) for (const step of series[line.tag]?.steps ?? []) steps.add(step);
  const xs = [...steps].sort((a, b) => a - b);
  const index = new Map(xs.map((step, i) => [step, i]));
  const ys = lines.map((line) => {
    const ys: Array<number | null> = xs.map(() => null);
    const s = series[line.tag];
    // A resumed run writes some steps again: the later value wins, as TensorBoard shows it.
    s?.steps.forEach((step, i) => {
      ys[index.get(step) as number] = s.values[i] ?? null;
    });
    return ys;
  });
  return [xs, ...ys];
}

function latest(s: MetricSeries | undefined): { step: number; value: number } | null {
  if (s === undefined || s.steps.length === 0) return null;
  return { step: s.steps[s.steps.length - 1] as number, value: s.values[s.values.length - 1] as number };
}

/** A uPlot line chart that follows its container's width; the latest values are also written out as text. */
export function MetricChart({ title, lines, series, format, testId }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = useMemo(() => alignSeries(lines, series), [lines, series]);
  const points = data[0].length;
  const linesKey = lines.map((line) => line.tag).join('\n');
  const latestFormat = useRef(format);
  latestFormat.current = format;

  // The chart is rebuilt only when its set of lines changes; new points go through setData.
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const options: uPlot.Options = {
      width: Math.max(200, element.clientWidth),
      height: HEIGHT,
      scales: { x: { time: false } },
      axes: [
        { label: 'step', stroke: '#64748b', grid: { stroke: '#eef2f7' }, ticks: { stroke: '#e2e8f0' } },
        { stroke: '#64748b', size: 64, grid: { stroke: '#eef2f7' }, ticks: { stroke: '#e2e8f0' }, values: (_u, splits) => splits.map((v) => latestFormat.current(v)) },
      ],
      series: [{ label: 'step' }, ...lines.map((line) => ({ label: line.label, stroke: colourOf(line), width: line.width ?? 1.5, spanGaps: true, points: { show: false } }))],
      // The lines are named below the chart, with their latest values.
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
    };
    const chart = new uPlot(options, alignSeries(lines, {}), element);
    plot.current = chart;
    const observer = new ResizeObserver(() => {
      const width = Math.max(200, element.clientWidth);
      if (width !== chart.width) chart.setSize({ width, height: HEIGHT });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // linesKey stands for `lines`: a new array with the same tags keeps the chart.
  }, [linesKey]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data, linesKey]);

  return (
    <figure className="chart" data-testid={testId} data-points={points}>
      <figcaption className="chart__title">{title}</figcaption>
      {points === 0 ? <p className="chart__empty muted">No points yet: the engine writes them as it trains.</p> : null}
      <div ref={host} className={points === 0 ? 'chart__plot chart__plot--empty' : 'chart__plot'} role="img" aria-label={`${title} by step`} />
      <dl className="chart__latest">
        {lines.map((line) => {
          const last = latest(series[line.tag]);
          return last === null ? null : (
            <div key={line.tag} className="chart__value">
              <dt>
                <span className={`chart__swatch chart__swatch--${line.colour % CHART_COLOURS.length}`} aria-hidden="true" />
                {line.label}
              </dt>
              <dd className="num">
                {format(last.value)} <span className="muted">at step {last.step}</span>
              </dd>
            </div>
          );
        })}
      </dl>
    </figure>
  );
}

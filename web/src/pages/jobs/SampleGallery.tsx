import { useMemo, useState } from 'react';
import { Dialog } from '../../components/Dialog.tsx';
import { formatBytes } from '../../format.ts';
import { jobsApi } from './jobsApi.ts';
import type { SampleInfo } from './types.ts';

interface Group {
  key: string;
  title: string;
  samples: SampleInfo[];
}

/** Epoch-end samples by epoch (epoch 0: before training), step samples by step, in the order they were made. */
export function groupSamples(samples: readonly SampleInfo[]): Group[] {
  const groups = new Map<string, Group>();
  for (const sample of samples) {
    const key = sample.epoch !== null ? `e${sample.epoch}` : sample.step !== null ? `s${sample.step}` : 'other';
    const title =
      sample.epoch !== null ? (sample.epoch === 0 ? 'Before training' : `Epoch ${sample.epoch}`) : sample.step !== null ? `Step ${sample.step}` : 'Other images';
    let group = groups.get(key);
    if (!group) {
      group = { key, title, samples: [] };
      groups.set(key, group);
    }
    group.samples.push(sample);
  }
  for (const group of groups.values()) group.samples.sort((a, b) => (a.prompt ?? 0) - (b.prompt ?? 0));
  return [...groups.values()];
}

function labelOf(sample: SampleInfo): string {
  return sample.prompt === null ? sample.name : `Prompt ${sample.prompt + 1}`;
}

interface Props {
  jobId: string;
  samples: SampleInfo[];
  skipped: number;
}

export function SampleGallery({ jobId, samples, skipped }: Props) {
  const groups = useMemo(() => groupSamples(samples), [samples]);
  const [open, setOpen] = useState<SampleInfo | null>(null);

  if (samples.length === 0) {
    return (
      <p className="muted" data-testid="samples-none">
        No samples yet. Add sample prompts and “sample every N epochs” to the run to see how training goes.
      </p>
    );
  }
  return (
    <div className="samples" data-testid="samples">
      {groups.map((group) => (
        <section key={group.key} className="samples__group" aria-label={group.title} data-testid={`samples-${group.key}`}>
          <h3 className="samples__title">{group.title}</h3>
          <ul className="gallery samples__grid">
            {group.samples.map((sample) => (
              <li key={sample.name} className="gallery__item">
                <button type="button" className="gallery__card" onClick={() => setOpen(sample)} aria-label={`Open sample ${sample.name}`}>
                  <span className="gallery__thumb">
                    <img src={jobsApi.sampleUrl(jobId, sample.name)} alt={`${labelOf(sample)}, ${group.title.toLowerCase()}`} loading="lazy" />
                  </span>
                  <span className="gallery__meta">
                    <span className="gallery__file">{labelOf(sample)}</span>
                    <span className="gallery__size muted">{sample.seed === null ? formatBytes(sample.size) : `seed ${sample.seed}`}</span>
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      {skipped > 0 ? (
        <p className="hint-line muted" data-testid="samples-skipped">
          {skipped === 1 ? 'One entry' : `${skipped} entries`} in the sample folder {skipped === 1 ? 'was' : 'were'} not shown: links, folders or files
          that are not regular files are never served.
        </p>
      ) : null}
      <Dialog open={open !== null} onClose={() => setOpen(null)} title={open?.name ?? ''} testId="sample-dialog">
        {open ? <img className="samples__full" src={jobsApi.sampleUrl(jobId, open.name)} alt={open.name} /> : null}
      </Dialog>
    </div>
  );
}

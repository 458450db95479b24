import { memo, useEffect, useRef, useState, type RefObject } from 'react';
import { useCaption, type CaptionCache } from './captionCache.ts';
import { imageKey, thumbUrl } from './paths.ts';
import type { DatasetImage } from './types.ts';

interface Props {
  dataset: string;
  image: DatasetImage;
  cache: CaptionCache;
  selected: boolean;
  /** Unsaved text in the editor for this image. */
  draft: boolean;
  /** Changes when another panel asks the gallery to show this (selected) image. */
  reveal: number;
  classTokens: string;
  onSelect: (key: string) => void;
}

/** Starts true once the element has come near the viewport, and stays so. */
function useSeen<T extends Element>(): [RefObject<T | null>, boolean] {
  const ref = useRef<T>(null);
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    const element = ref.current;
    if (seen || !element) return;
    if (typeof IntersectionObserver === 'undefined') {
      setSeen(true);
      return;
    }
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) setSeen(true);
      },
      { rootMargin: '300px 0px' },
    );
    observer.observe(element);
    return () => observer.disconnect();
  }, [seen]);
  return [ref, seen];
}

function CaptionText({ image, cache, seen, classTokens }: { image: DatasetImage; cache: CaptionCache; seen: boolean; classTokens: string }) {
  const key = imageKey(image.subset, image.file);
  // Images the studio lists without a caption file need no request (unless an edit just wrote one).
  const entry = useCaption(cache, key, seen && image.caption);
  if (entry === undefined && !image.caption) {
    return (
      <span className="gallery__caption gallery__caption--none" data-caption="none">
        no caption{classTokens ? ` — kohya uses “${classTokens}”` : ''}
      </span>
    );
  }
  if (entry === undefined || entry.state === 'loading') {
    return (
      <span className="gallery__caption gallery__caption--loading" data-caption="loading">
        …
      </span>
    );
  }
  if (entry.state === 'error') {
    return (
      <span className="gallery__caption gallery__caption--error" data-caption="error" title={entry.message}>
        caption unreadable
      </span>
    );
  }
  if (!entry.exists || entry.text.trim() === '') {
    return (
      <span className="gallery__caption gallery__caption--none" data-caption={entry.exists ? 'empty' : 'none'}>
        {entry.exists ? 'empty caption' : 'no caption'}
      </span>
    );
  }
  return (
    <span className="gallery__caption" data-caption="text" title={entry.text}>
      {entry.text}
    </span>
  );
}

export const GalleryCard = memo(function GalleryCard({ dataset, image, cache, selected, draft, reveal, classTokens, onSelect }: Props) {
  const [ref, seen] = useSeen<HTMLLIElement>();
  const key = imageKey(image.subset, image.file);

  useEffect(() => {
    if (reveal > 0) ref.current?.scrollIntoView({ block: 'center' });
  }, [reveal, ref]);

  return (
    <li ref={ref} className="gallery__item">
      <button
        type="button"
        className={selected ? 'gallery__card gallery__card--selected' : 'gallery__card'}
        aria-pressed={selected}
        onClick={() => onSelect(key)}
        data-testid={`image-card-${key}`}
      >
        <span className="gallery__thumb">
          {seen ? <img src={thumbUrl(dataset, image.subset, image.file)} alt="" loading="lazy" decoding="async" /> : null}
          {draft ? <span className="badge badge--warn gallery__flag">unsaved</span> : null}
        </span>
        <span className="gallery__meta">
          <span className="gallery__file mono" title={key}>
            {image.file}
          </span>
          <span className="gallery__size muted">
            {image.width !== null && image.height !== null ? `${image.width}×${image.height}` : 'size unknown'}
            {image.format ? ` · ${image.format}` : ''}
          </span>
        </span>
        <CaptionText image={image} cache={cache} seen={seen} classTokens={classTokens} />
      </button>
    </li>
  );
});

import { parseTags } from './paths.ts';

/**
 * A caption with the tags that differ from the other side marked: removed ones in "before", added ones in
 * "after". Texts without commas (sentences) are shown whole.
 */
export function TagDiff({ text, other, side }: { text: string | null; other: string | null; side: 'before' | 'after' }) {
  if (text === null) return <span className="muted">no caption file</span>;
  if (text.trim() === '') return <span className="muted">empty</span>;
  const tags = parseTags(text);
  const otherTags = new Set(parseTags(other ?? ''));
  return (
    <span className="diff">
      {tags.map((tag, index) => {
        const changed = !otherTags.has(tag);
        const mark = changed ? (side === 'before' ? <del className="diff__del">{tag}</del> : <ins className="diff__ins">{tag}</ins>) : tag;
        return (
          <span key={index}>
            {index > 0 ? ', ' : null}
            {mark}
          </span>
        );
      })}
    </span>
  );
}

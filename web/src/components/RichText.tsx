/**
 * Renders server text (messages, hints) as plain text, showing `backticked` spans as code.
 * Everything goes through React's text escaping: no HTML from the server is ever interpreted.
 */
export function RichText({ text }: { text: string }) {
  const parts = text.split('`');
  // An unmatched backtick leaves an even number of parts: show the text as it is.
  if (parts.length % 2 === 0) return <>{text}</>;
  return <>{parts.map((part, index) => (index % 2 === 1 ? <code key={index}>{part}</code> : part))}</>;
}

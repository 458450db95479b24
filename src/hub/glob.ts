/**
 * `--include GLOB` for multi-file pulls: `*` any run of characters within one segment, `**` any run of
 * segments, `?` one character within a segment, `[abc]` a character class. A glob without `/` matches
 * the file's base name; one with `/` matches the path relative to the pulled folder.
 */
function escapeRegExp(text: string): string {
  return text.replace(/[.+^${}()|\\]/g, '\\$&');
}

export function globToRegExp(glob: string): RegExp {
  if (glob.length === 0 || glob.length > 256) throw new Error('a glob is 1–256 characters');
  let out = '';
  for (let i = 0; i < glob.length; i += 1) {
    const ch = glob[i] ?? '';
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        out += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else out += '[^/]*';
    } else if (ch === '?') out += '[^/]';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) out += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\').replace(/^!/, '^');
        out += `[${body}]`;
        i = end;
      }
    } else out += escapeRegExp(ch);
  }
  return new RegExp(`^${out}$`);
}

/** True when `relativePath` matches any glob (a list that is empty matches everything). */
export function matchesAny(relativePath: string, globs: readonly string[]): boolean {
  if (globs.length === 0) return true;
  const base = relativePath.slice(relativePath.lastIndexOf('/') + 1);
  return globs.some((glob) => globToRegExp(glob).test(glob.includes('/') ? relativePath : base));
}

/**
 * The web UI imports the server's API types (and the include-glob match) from src/ rather than keeping copies.
 * Those server modules must stay free of node: and package imports: Vite bundles what they import, and a
 * package that references @types/node would let node code typecheck under web/tsconfig.json unnoticed.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SPECIFIER = /(?:^|[\s;])(?:import|export)\s(?:[^'";]*?\sfrom\s)?\s*['"]([^'"]+)['"]/g;

async function specifiers(file: string): Promise<string[]> {
  const text = (await readFile(file, 'utf8')).replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  return [...text.matchAll(SPECIFIER)].map((match) => match[1] ?? '');
}

/** Every server file reachable from `roots` through relative imports, and each non-relative import met on the way. */
async function closure(roots: string[]): Promise<{ files: string[]; outside: string[] }> {
  const seen = new Set<string>();
  const outside: string[] = [];
  const queue = [...roots];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const specifier of await specifiers(file)) {
      if (specifier.startsWith('.')) queue.push(path.relative('.', path.resolve(path.dirname(file), specifier)));
      else outside.push(`${file} → ${specifier}`);
    }
  }
  return { files: [...seen].sort(), outside };
}

async function serverFilesTheWebImports(): Promise<string[]> {
  const entries = await readdir('web/src', { recursive: true, withFileTypes: true });
  const found = new Set<string>();
  for (const entry of entries) {
    if (!entry.isFile() || !/\.tsx?$/.test(entry.name)) continue;
    const file = path.join(entry.parentPath, entry.name);
    for (const specifier of await specifiers(file)) {
      const target = path.relative('.', path.resolve(path.dirname(file), specifier));
      if (specifier.startsWith('.') && target.startsWith(`src${path.sep}`)) found.add(target);
    }
  }
  return [...found].sort();
}

describe('server modules the web UI imports', () => {
  it('import nothing but each other: no node: modules, no packages', async () => {
    const roots = await serverFilesTheWebImports();
    expect(roots).toEqual(expect.arrayContaining(['src/hub/glob.ts', 'src/library/model-record.ts', 'src/jobs/job-api-types.ts']));
    const { files, outside } = await closure(roots);
    expect(files.every((file) => file.startsWith(`src${path.sep}`))).toBe(true);
    expect(outside).toEqual([]);
  });

  it('the walk sees what a node-dependent module imports', async () => {
    const { outside } = await closure(['src/jobs/job-types.ts']);
    expect(outside).toEqual(expect.arrayContaining([expect.stringMatching(/ → node:path$/), expect.stringMatching(/ → zod$/)]));
  });
});

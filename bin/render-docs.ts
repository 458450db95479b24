/**
 * Regenerates the generated pages under docs/ (today: docs/run-config.md, the run-config reference rendered
 * from the schema itself), so the docs cannot drift from what the CLI and the API accept.
 *
 *   npm run docs                         write docs/run-config.md
 *   node bin/render-docs.ts --check      exit 1 when the committed page differs from a fresh render (CI, tests)
 *   node bin/render-docs.ts [--check] FILE   the same against another file
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderSchemaReference } from '../src/training/schema/render-schema-reference.ts';

export const RUN_CONFIG_DOC = fileURLToPath(new URL('../docs/run-config.md', import.meta.url));

/** The page exactly as committed (the reference says itself that it is generated). */
export function renderRunConfigDoc(): string {
  const page = renderSchemaReference();
  return page.endsWith('\n') ? page : `${page}\n`;
}

async function main(args: string[]): Promise<number> {
  const check = args.includes('--check');
  const file = args.find((arg) => arg !== '--check') ?? RUN_CONFIG_DOC;
  const fresh = renderRunConfigDoc();
  if (!check) {
    await writeFile(file, fresh);
    process.stdout.write(`wrote ${file}\n`);
    return 0;
  }
  const committed = await readFile(file, 'utf8').catch(() => null);
  if (committed === fresh) return 0;
  process.stderr.write(`${file} is ${committed === null ? 'missing' : 'out of date with the run-config schema'}; run \`npm run docs\` and commit the result.\n`);
  return 1;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));

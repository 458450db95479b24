import { usageError, writeJson, writeLine } from '../io.ts';
import { requireStudio } from '../studio-client.ts';
import { flag, parseVerbArgs, type Verb } from '../verb.ts';

export const pairVerb: Verb = {
  name: 'pair',
  help: `lorasmith pair [--json]

Asks the running studio (with this workspace's API secret) for a new one-time pairing code and prints
its URL: for a second browser, or after the session cookie was cleared. Sessions already paired keep working.`,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('pair', args, {});
    if (positionals.length > 0) throw usageError('`lorasmith pair` takes no arguments.', 'Run `lorasmith pair`.');
    const studio = await requireStudio(io.env);
    const pairing = await studio.request<{ url: string; expiresAt: string }>('POST', '/api/pairings');
    if (flag(values, 'json')) writeJson(io, pairing);
    else {
      writeLine(io, 'Open this link in the browser to pair (one use):');
      writeLine(io, `  ${pairing.url}`);
      writeLine(io, `It expires at ${pairing.expiresAt}.`);
    }
    return 0;
  },
};

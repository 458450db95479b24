import { parseSecretName } from '../../core/secret-store.ts';
import { checkHubToken } from '../../hub/check-token.ts';
import { usageError, writeJson, writeLine } from '../io.ts';
import { withLocalStudio } from '../local-studio.ts';
import { readSecret } from '../read-secret.ts';
import { flag, parseVerbArgs, type Verb } from '../verb.ts';

export const loginVerb: Verb = {
  name: 'login',
  help: `lorasmith login hf|civitai [--no-check] [--json]

Reads the token from stdin (piped) or from the terminal without echo, and saves it in the workspace's
secret store (secrets.json, 0600). It is never printed, logged or put on a command line.
Then checks it with the hub (Hugging Face whoami, Civitai /me) unless --no-check; exit 1 when the hub
refuses it (it stays saved: replace it with another login).
Example: lorasmith login hf < token.txt`,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('login', args, { 'no-check': { type: 'boolean', default: false } });
    const [provider, ...rest] = positionals;
    if (provider === undefined || rest.length > 0) throw usageError('`login` needs exactly one of hf, civitai.', 'Example: lorasmith login hf');
    const name = parseSecretName(provider);
    const value = await readSecret(io, `${name === 'hf' ? 'Hugging Face token' : 'Civitai API key'}: `);
    if (value === '') throw usageError('No token was given.', 'Pipe the token on stdin or type it at the prompt.');
    const { summary, check } = await withLocalStudio(io.env, async (studio) => {
      const saved = await studio.secrets.set(name, value);
      return { summary: saved, check: flag(values, 'no-check') ? null : await checkHubToken(await studio.hubContext(), name) };
    });
    if (flag(values, 'json')) writeJson(io, { ...summary, check });
    else {
      writeLine(io, `Saved ${summary.label} (${summary.masked}).`);
      if (check !== null) writeLine(io, check.ok ? check.message : `Warning: ${check.message}${check.hint ? `\nhint: ${check.hint}` : ''}`);
    }
    return check === null || check.ok ? 0 : 1;
  },
};

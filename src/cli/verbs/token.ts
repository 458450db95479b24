import type { ExitCode } from '../../core/errors.ts';
import { rotateApiSecret } from '../../access/api-secret.ts';
import { usageError, writeJson, writeLine } from '../io.ts';
import { withLocalStudio } from '../local-studio.ts';
import { flag, parseVerbArgs, type Verb } from '../verb.ts';

export const tokenVerb: Verb = {
  name: 'token',
  help: `lorasmith token rotate | create NAME | list | rm NAME [--json]

  rotate        replace the install's API secret (the CLI's credential); the old one stops working at once
  create NAME   make a named bearer token for a script; it is printed once, keep it safe
  list          list named tokens (names and dates only)
  rm NAME       remove a named token; requests with it get 401 from then on`,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('token', args, {});
    const json = flag(values, 'json');
    const [action, name, ...rest] = positionals;
    if (rest.length > 0) throw usageError('Too many arguments.', 'See `lorasmith token --help`.');
    return withLocalStudio<ExitCode>(io.env, async (studio) => {
      switch (action) {
        case 'rotate': {
          await rotateApiSecret(studio.workspace.paths.apiSecret);
          await studio.securityEvents.record('token-rotated', 'the API secret was rotated from the CLI');
          if (json) writeJson(io, { rotated: true, file: studio.workspace.paths.apiSecret });
          else writeLine(io, `API secret rotated (${studio.workspace.paths.apiSecret}); the old one no longer works.`);
          return 0;
        }
        case 'create': {
          if (name === undefined) throw usageError('`token create` needs a NAME.', 'Example: lorasmith token create my-script');
          const created = await studio.tokens.create(name);
          await studio.securityEvents.record('token-created', `token ${created.name} created from the CLI`);
          if (json) writeJson(io, created);
          else {
            writeLine(io, `Token ${created.name} (shown once; send it as "Authorization: Bearer …"):`);
            writeLine(io, created.token);
          }
          return 0;
        }
        case 'list': {
          const tokens = await studio.tokens.list();
          if (json) writeJson(io, { tokens });
          else if (tokens.length === 0) writeLine(io, 'No named tokens.');
          else for (const t of tokens) writeLine(io, `${t.name}\tcreated ${t.createdAt}\tlast used ${t.lastUsedAt ?? 'never'}`);
          return 0;
        }
        case 'rm': {
          if (name === undefined) throw usageError('`token rm` needs a NAME.', 'See the names with `lorasmith token list`.');
          await studio.tokens.remove(name);
          await studio.securityEvents.record('token-removed', `token ${name} removed from the CLI`);
          if (json) writeJson(io, { removed: name });
          else writeLine(io, `Token ${name} removed.`);
          return 0;
        }
        default:
          throw usageError(action === undefined ? '`token` needs an action.' : `Unknown token action ${JSON.stringify(action)}.`, 'Use rotate, create NAME, list or rm NAME.');
      }
    });
  },
};

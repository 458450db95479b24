/**
 * `lorasmith search hf|civitai QUERY`: find models on the hubs. Read-only API calls through hub/ (the
 * token, when saved, goes only to the provider's API host). NSFW results stay hidden unless --nsfw.
 */
import type { ExitCode } from '../../core/errors.ts';
import type { CivitaiModelSummary } from '../../hub/civitai/civitai-client.ts';
import type { HfModelSummary } from '../../hub/hf/hf-client.ts';
import type { HubSettings } from '../../hub/hub-context.ts';
import type { HubNetwork } from '../../hub/hub-network.ts';
import { hubContextFactory } from '../../hub/pull-deps.ts';
import { searchHub, type SearchParams } from '../../hub/search.ts';
import { usageError, writeJson, writeLine } from '../io.ts';
import { withLocalStudio } from '../local-studio.ts';
import { flag, option, parseVerbArgs, type Verb } from '../verb.ts';

export interface SearchVerbOptions {
  settings?: (env: NodeJS.ProcessEnv) => HubSettings;
  network?: HubNetwork;
}

const HELP = `lorasmith search hf|civitai QUERY [--type T] [--base-model B] [--sort S] [--limit N] [--nsfw] [--json]

  --type T        hf: lora | diffusers | any Hub tag; civitai: lora | checkpoint | vae | embedding |
                  LORA | Checkpoint | TextualInversion | LoCon | DoRA | Controlnet | …
  --base-model B  hf: a base model repo id (base_model:B); civitai: a base model name ("SDXL 1.0")
  --sort S        downloads (default) | recent | likes (hf) | rating (civitai)
  --limit N       1–100 (default 20)
  --nsfw          civitai: include NSFW models (off by default)

Pull a result with \`lorasmith pull hf:<repo>:<path>\` or \`lorasmith pull civitai:<versionId>\`.
--json: {"provider","results":[…]}`;

function num(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 100) throw usageError('--limit must be 1–100.', 'See `lorasmith search --help`.');
  return parsed;
}

export function createSearchVerb(options: SearchVerbOptions = {}): Verb {
  return {
    name: 'search',
    summary: 'find models on Hugging Face or Civitai',
    help: HELP,
    async run(args, io): Promise<ExitCode> {
      const { values, positionals } = parseVerbArgs('search', args, {
        type: { type: 'string' },
        'base-model': { type: 'string' },
        sort: { type: 'string' },
        limit: { type: 'string' },
        nsfw: { type: 'boolean', default: false },
      });
      const [provider, ...words] = positionals;
      if (provider !== 'hf' && provider !== 'civitai') throw usageError('`search` needs a provider: hf or civitai.', 'Example: lorasmith search civitai "pixel art" --type lora');
      const limit = num(option(values, 'limit'));
      const params: SearchParams = {
        provider,
        query: words.join(' '),
        ...(option(values, 'type') === undefined ? {} : { type: option(values, 'type') }),
        ...(option(values, 'base-model') === undefined ? {} : { baseModel: option(values, 'base-model') }),
        ...(option(values, 'sort') === undefined ? {} : { sort: option(values, 'sort') }),
        ...(limit === undefined ? {} : { limit }),
        nsfw: flag(values, 'nsfw'),
      };
      const results = await withLocalStudio(io.env, async (studio) => {
        const hub =
          options.settings === undefined && options.network === undefined
            ? await studio.hubContext()
            : await hubContextFactory({ secrets: studio.secrets, settings: options.settings?.(io.env) ?? { env: io.env }, ...(options.network === undefined ? {} : { network: options.network }) })();
        return searchHub(hub, params);
      });
      if (flag(values, 'json')) {
        writeJson(io, { provider, results });
        return 0;
      }
      if (results.length === 0) writeLine(io, 'No models found.');
      if (provider === 'hf') {
        for (const model of results as HfModelSummary[]) {
          writeLine(io, `${model.id}  ↓${model.downloads} ♥${model.likes}${model.gated ? '  gated' : ''}  ${model.tags.filter((tag) => !tag.includes(':')).slice(0, 5).join(', ')}`);
        }
      } else {
        for (const model of results as CivitaiModelSummary[]) {
          const latest = model.versions[0];
          writeLine(io, `${model.id}  ${model.type ?? '?'}  ${model.name}  ↓${model.downloads}${latest === undefined ? '' : `  latest: civitai:${latest.id} (${latest.name ?? ''}, ${latest.baseModel ?? '?'})`}`);
        }
      }
      return 0;
    },
  };
}

export const searchVerb: Verb = createSearchVerb();

/**
 * The CLI talks to the running studio when server.json names a live one (pid + start time + a health
 * check with the API secret); otherwise verbs run the same domain code in-process (DESIGN.md §5).
 */
import { readApiSecret } from '../access/api-secret.ts';
import { LorasmithError } from '../core/errors.ts';
import { workspaceHome, workspacePaths } from '../core/workspace.ts';
import { readLiveServerInfo, type ServerInfo } from '../server/studio-lock.ts';

export interface StudioClient {
  info: ServerInfo;
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
  stream(path: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>>;
}

function networkError(url: string): LorasmithError {
  return new LorasmithError({
    code: 'network',
    message: `The studio at ${url} did not answer.`,
    hint: 'Check that `lorasmith serve` is still running.',
    exitCode: 2,
  });
}

async function asError(response: Response): Promise<LorasmithError> {
  let body: { error?: { code?: string; message?: string; hint?: string } } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // Not JSON: fall through to the status line.
  }
  return new LorasmithError({
    code: body.error?.code ?? `http-${response.status}`,
    message: body.error?.message ?? `The studio answered ${response.status}.`,
    ...(body.error?.hint ? { hint: body.error.hint } : {}),
    exitCode: response.status === 422 ? 1 : 2,
    status: response.status,
  });
}

export async function connectStudio(env: NodeJS.ProcessEnv = process.env): Promise<StudioClient | null> {
  const paths = workspacePaths(workspaceHome(env));
  const info = await readLiveServerInfo(paths.serverJson);
  if (info === null) return null;
  const secret = await readApiSecret(paths.apiSecret);
  if (secret === null) return null;
  const headers = { authorization: `Bearer ${secret}` };
  const call = async (method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> => {
    try {
      return await fetch(`${info.url}${path}`, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal === undefined ? {} : { signal }),
        redirect: 'error',
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw networkError(info.url);
    }
  };
  const health = await call('GET', '/api/health').catch(() => null);
  if (health === null || !health.ok) return null;
  return {
    info,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await call(method, path, body);
      if (!response.ok) throw await asError(response);
      return (response.status === 204 ? undefined : await response.json()) as T;
    },
    async stream(path, signal) {
      const response = await call('GET', path, undefined, signal);
      if (!response.ok || response.body === null) throw await asError(response);
      return response.body;
    },
  };
}

export async function requireStudio(env: NodeJS.ProcessEnv = process.env): Promise<StudioClient> {
  const client = await connectStudio(env);
  if (client === null) {
    throw new LorasmithError({
      code: 'studio-not-running',
      message: 'No studio is running on this workspace.',
      hint: 'Start one with `lorasmith serve` (it prints a pairing URL).',
      exitCode: 2,
    });
  }
  return client;
}

/**
 * What counts as "this studio" for Host and Origin checks (WEB-R01, R02): exact `host:port` names, never
 * suffix matches, never 0.0.0.0; each header is compared with the allowlist, never with the other.
 */
export interface StudioOrigins {
  hosts: ReadonlySet<string>;
  origins: ReadonlySet<string>;
  /** The URL printed for humans. */
  baseUrl: string;
}

export function studioOrigins(params: { port: number; tls: boolean; publicNames: readonly string[] }): StudioOrigins {
  const scheme = params.tls ? 'https' : 'http';
  const names = ['127.0.0.1', 'localhost', '[::1]', ...params.publicNames.map((name) => name.toLowerCase())];
  const hosts = new Set(names.map((name) => `${name}:${params.port}`));
  const origins = new Set(names.map((name) => `${scheme}://${name}:${params.port}`));
  const first = params.publicNames[0]?.toLowerCase() ?? '127.0.0.1';
  return { hosts, origins, baseUrl: `${scheme}://${first}:${params.port}` };
}

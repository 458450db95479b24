/**
 * A throwaway certificate authority and one server certificate for the hub double, made with the
 * `openssl` CLI (argv arrays, no shell) in a private temp dir. The certificate names every host of the
 * double (DNS SANs) and 127.0.0.1 / ::1 (IP SANs), so TLS name checks are real in the tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestPki {
  /** PEM of the CA certificate: pass as `ca` to the client. */
  ca: Buffer;
  /** PEM of the server key and certificate (signed by the CA). */
  key: Buffer;
  cert: Buffer;
}

export const DEFAULT_TEST_HOSTS = ['hub.test', 'cdn.test', 'cdn2.test', 'evil.test', 'mirror.test', 'link-local.test', 'private.test', 'localhost'];

const cache = new Map<string, TestPki>();

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Make (once per process and host list) a CA and a server certificate for these host names. */
export function createTestPki(hostNames: string[] = DEFAULT_TEST_HOSTS): TestPki {
  const key = hostNames.join(',');
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const dir = mkdtempSync(path.join(tmpdir(), 'lorasmith-test-pki-'));
  try {
    openssl(
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
        '-subj', '/CN=lorasmith throwaway test CA', '-keyout', 'ca.key', '-out', 'ca.crt',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir,
    );
    openssl(
      ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${hostNames[0] ?? 'hub.test'}`, '-keyout', 'server.key', '-out', 'server.csr'],
      dir,
    );
    const sans = [...hostNames.map((host) => `DNS:${host}`), 'IP:127.0.0.1', 'IP:::1'].join(',');
    writeFileSync(
      path.join(dir, 'server.ext'),
      `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans}\n`,
    );
    openssl(
      ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.crt'],
      dir,
    );
    const pki: TestPki = {
      ca: readFileSync(path.join(dir, 'ca.crt')),
      key: readFileSync(path.join(dir, 'server.key')),
      cert: readFileSync(path.join(dir, 'server.crt')),
    };
    cache.set(key, pki);
    return pki;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

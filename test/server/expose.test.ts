/** WEB-R01: loopback by default; --expose only with TLS and a public name; one studio per workspace. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkBindOptions } from '../../src/server/serve.ts';
import { rawRequest } from '../helpers/http.ts';
import { makeHome, startTestStudio, type TestStudio } from '../helpers/studio.ts';

const cli = path.resolve('src/cli/main.ts');
let studio: TestStudio | undefined;
afterEach(async () => {
  await studio?.stop();
  studio = undefined;
});

function serve(args: string[], home: string) {
  return spawnSync(process.execPath, [cli, 'serve', '--port', '0', ...args], { env: { ...process.env, LORASMITH_HOME: home }, encoding: 'utf8', timeout: 20_000 });
}

describe('bind options', () => {
  it('WEB-A09: a non-loopback --host without --expose refuses to start (exit 2)', async () => {
    const result = serve(['--host', '0.0.0.0'], await makeHome());
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('without --expose');
  });

  it('--expose without TLS, or with TLS but no --public-name, exits 2 with the reason', async () => {
    const home = await makeHome();
    const noTls = serve(['--host', '0.0.0.0', '--expose'], home);
    expect(noTls.status).toBe(2);
    expect(noTls.stderr).toContain('--expose needs TLS');
    expect(() => checkBindOptions({ host: '0.0.0.0', expose: true, tlsCert: 'c', tlsKey: 'k' })).toThrow(/public-name/);
    expect(() => checkBindOptions({ host: '127.0.0.1' })).not.toThrow();
  });

  it('with --expose, TLS and --public-name studio.lan, a same-origin POST works and another Host is refused', async () => {
    const home = await makeHome();
    const key = path.join(home, 'key.pem');
    const cert = path.join(home, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=studio.lan', '-addext', 'subjectAltName=DNS:studio.lan,DNS:other.lan'], { stdio: 'ignore' });
    studio = await startTestStudio({ home, expose: true, tlsCert: cert, tlsKey: key, publicNames: ['studio.lan'] });
    const ca = await readFile(cert);
    const port = studio.running.port;
    expect(studio.running.url).toBe(`https://studio.lan:${port}`);
    const secret = await studio.apiSecret();
    const issued = await rawRequest({ url: `https://studio.lan:${port}/api/pairings`, method: 'POST', connectHost: '127.0.0.1', ca, headers: { authorization: `Bearer ${secret}` } });
    const pairing = await rawRequest({ url: issued.json<{ url: string }>().url, connectHost: '127.0.0.1', ca, headers: { 'sec-fetch-site': 'none' } });
    const cookie = pairing.headers['set-cookie']?.[0] ?? '';
    expect(cookie).toContain('Secure');
    const post = await rawRequest({
      url: `https://studio.lan:${port}/api/tokens`,
      method: 'POST',
      connectHost: '127.0.0.1',
      ca,
      headers: { cookie: cookie.split(';')[0] ?? '', origin: `https://studio.lan:${port}`, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' },
      body: '{"name":"lan"}',
    });
    expect(post.status).toBe(200);
    const other = await rawRequest({ url: `https://other.lan:${port}/api/health`, connectHost: '127.0.0.1', ca, headers: { authorization: `Bearer ${secret}` } });
    expect(other.status).toBe(403);
    const hsts = await rawRequest({ url: `https://studio.lan:${port}/api/health`, connectHost: '127.0.0.1', ca, headers: { authorization: `Bearer ${secret}` } });
    expect(hsts.headers['strict-transport-security']).toBeDefined();
  });
});

describe('one studio per workspace', () => {
  it('a second serve on the same workspace exits 2 naming the running one; server.json is 0600', async () => {
    studio = await startTestStudio();
    const second = serve([], studio.home);
    expect(second.status).toBe(2);
    expect(second.stderr).toContain('already running');
    expect(second.stderr).toContain(studio.url);
    const info = JSON.parse(await readFile(path.join(studio.home, 'server.json'), 'utf8')) as { url: string; pid: number };
    expect(info).toMatchObject({ url: studio.url, pid: process.pid });
    expect(((await stat(path.join(studio.home, 'server.json'))).mode & 0o777).toString(8)).toBe('600');
  });

  it('a stale lock from a dead process is taken over', async () => {
    const home = await makeHome();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(home, 'server.lock'), JSON.stringify({ pid: 999_999, startTicks: '1', purpose: 'serve' }));
    studio = await startTestStudio({ home });
    expect(studio.running.port).toBeGreaterThan(0);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LorasmithError } from '../core/errors.ts';
import { buildProviderPolicy, buildUrlPolicy } from './build-provider-policy.ts';
import { assertPolicy, checkUrl, hostMatches, rawUrlProblem, type CheckUrlParams, type ProviderPolicy } from './url-policy.ts';

const hf = buildProviderPolicy({ provider: 'hf', env: {} });
const civitai = buildProviderPolicy({ provider: 'civitai', env: {} });

function refusal(params: CheckUrlParams): LorasmithError {
  try {
    checkUrl(params);
  } catch (error) {
    expect(error).toBeInstanceOf(LorasmithError);
    return error as LorasmithError;
  }
  throw new Error(`accepted: ${String(params.url)}`);
}

describe('checkUrl — HF-A01 host confusion', () => {
  const hostile = [
    'https://huggingface.co.evil.test/x',
    'https://evil.test/huggingface.co/x',
    'https://huggingface.co@evil.test/',
    'https://evil.test#@huggingface.co',
    'https://huggingface.co%2eevil.test/',
    'https://huggingfac\u0435.co/',
    'https://2130706433/',
    'https://0x7f.1/',
    'http://huggingface.co/',
    'https://huggingface.co:8443/',
    'https://huggingface.co\\@evil.test/',
    'https:huggingface.co/x',
    'https:///huggingface.co/x',
    '//huggingface.co/x',
    'https://user:pass@huggingface.co/x',
    'https://huggingface.co /x',
    'https://huggingface.co/x y',
    'https://huggingface.co/\u0000',
    'https://huggingface.co/x\ty',
    'https://huggingface.co/\u00a0',
    'https://[::1]/',
    'https://127.0.0.1/',
    'https://huggingface.co../x',
    'ftp://huggingface.co/x',
    'javascript:alert(1)',
    'data:text/html,hi',
    'file:///etc/passwd',
    'https://notahuggingface.co/',
    '',
  ];
  it.each(hostile)('refuses %j', (url) => {
    const error = refusal({ url, policy: hf });
    expect(error.code).toBe('invalid');
    expect(error.exitCode).toBe(1);
    expect(error.message).not.toContain('user:pass');
  });

  it('normalises case and the trailing dot to the allowed host', () => {
    const checked = checkUrl({ url: 'https://HuggingFace.CO./x', policy: hf });
    expect(checked.href).toBe('https://huggingface.co/x');
    expect(checked.hostname).toBe('huggingface.co');
    expect(checked.port).toBe(443);
    expect(checked.exempt).toBe(false);
  });

  it('accepts an explicit :443 and drops the fragment', () => {
    expect(checkUrl({ url: 'https://huggingface.co:443/a/b?c=1#frag', policy: hf }).href).toBe('https://huggingface.co/a/b?c=1');
  });

  it('converts an IDN to ASCII before matching', () => {
    const policy = buildUrlPolicy({ hosts: ['bücher.example'] });
    expect(checkUrl({ url: 'https://BÜCHER.example/x', policy }).hostname).toBe('xn--bcher-kva.example');
  });

  it('uses the redirect allowlist only for redirect targets, with label-boundary suffixes', () => {
    expect(checkUrl({ url: 'https://cdn-lfs-us-1.hf.co/repos/x', policy: hf, role: 'redirect' }).hostname).toBe('cdn-lfs-us-1.hf.co');
    expect(checkUrl({ url: 'https://us.aws.cdn.hf.co/xet-bridge-us/x', policy: hf, role: 'redirect' }).hostname).toBe('us.aws.cdn.hf.co');
    expect(refusal({ url: 'https://cdn-lfs.hf.co/x', policy: hf }).code).toBe('invalid');
    for (const url of ['https://evilhf.co/x', 'https://hf.co.evil.test/x', 'https://hf-co.evil.test/x', 'https://xhuggingface.co/x']) {
      const error = refusal({ url, policy: hf, role: 'redirect', refusalCode: 'redirect-refused' });
      expect(error.code).toBe('redirect-refused');
    }
  });

  it('resolves a relative Location against the current URL', () => {
    const base = new URL('https://huggingface.co/org/m/resolve/main/config.json');
    expect(checkUrl({ url: '/api/resolve-cache/models/org/m/abc/config.json', base, policy: hf, role: 'redirect' }).href).toBe(
      'https://huggingface.co/api/resolve-cache/models/org/m/abc/config.json',
    );
    expect(refusal({ url: '//evil.test/x', base, policy: hf, role: 'redirect' }).code).toBe('invalid');
    expect(refusal({ url: '\\\\evil.test\\x', base, policy: hf, role: 'redirect' }).code).toBe('invalid');
  });
});

describe('checkUrl — Civitai redirect hosts (CV-R03)', () => {
  const r2 = `civitai-delivery-worker-prod.${'0123456789abcdef'.repeat(2)}.r2.cloudflarestorage.com`;
  it.each([r2, 'b2.civitai.com', 'f001.backblazeb2.com', 'civitai.com'])('accepts %s as a redirect target', (host) => {
    expect(checkUrl({ url: `https://${host}/file?X-Amz-Signature=x`, policy: civitai, role: 'redirect' }).hostname).toBe(host);
  });
  it.each([`${r2}.evil.test`, `x${r2}`, 'f0001.backblazeb2.com', 'f001.backblazeb2.com.evil.test', 'evilcivitai.com', 'civitai.com.evil.test', 'civitai.red'])(
    'refuses %s',
    (host) => {
      expect(refusal({ url: `https://${host}/file`, policy: civitai, role: 'redirect' }).code).toBe('invalid');
    },
  );
  it('accepts civitai.red only when enabled', () => {
    const red = buildProviderPolicy({ provider: 'civitai', env: {}, civitaiRed: true });
    expect(checkUrl({ url: 'https://civitai.red/api/v1/models/1', policy: red }).hostname).toBe('civitai.red');
  });
});

describe('DL-R01 endpoint overrides and their exemptions', () => {
  const PORT = 8443;
  const CDN = 9443;
  const env = { LORASMITH_HF_ENDPOINT: `https://127.0.0.1:${PORT}`, LORASMITH_HF_REDIRECT_HOSTS: `127.0.0.1:${CDN}` };
  const policy = buildProviderPolicy({ provider: 'hf', env, token: 'hf_CANARYCANARYCANARYCANARY1234' });

  it('reaches exactly the configured endpoint', () => {
    const checked = checkUrl({ url: `https://127.0.0.1:${PORT}/org/m/resolve/main/x`, policy });
    expect(checked.exempt).toBe(true);
    expect(policy.credential?.origins).toEqual([`https://127.0.0.1:${PORT}`]);
  });

  it.each([`https://127.0.0.1:${PORT + 1}/`, `https://127.0.0.2:${PORT}/`, `https://localhost:${PORT}/`, `https://2130706433:${PORT}/`, 'https://huggingface.co/x'])(
    'refuses %s',
    (url) => {
      expect(refusal({ url, policy }).code).toBe('invalid');
    },
  );

  it('lets the endpoint redirect to its extra redirect host only', () => {
    expect(checkUrl({ url: `https://127.0.0.1:${CDN}/blob`, policy, role: 'redirect' }).exempt).toBe(true);
    expect(refusal({ url: `https://127.0.0.1:${CDN}/blob`, policy, role: 'api' }).code).toBe('invalid');
    expect(refusal({ url: `http://127.0.0.1:${CDN}/blob`, policy, role: 'redirect', refusalCode: 'redirect-refused' }).code).toBe('redirect-refused');
  });

  it('ignores extra redirect hosts while the endpoint is not overridden', () => {
    const plain = buildProviderPolicy({ provider: 'hf', env: { LORASMITH_HF_REDIRECT_HOSTS: `127.0.0.1:${CDN}` } });
    expect(plain.exemptHosts).toEqual([]);
    expect(refusal({ url: `https://127.0.0.1:${CDN}/blob`, policy: plain, role: 'redirect' }).code).toBe('invalid');
  });

  it("never uses the other provider's redirect hosts", () => {
    const mixed = buildProviderPolicy({ provider: 'hf', env: { LORASMITH_HF_ENDPOINT: `https://127.0.0.1:${PORT}`, LORASMITH_CIVITAI_REDIRECT_HOSTS: `127.0.0.1:${CDN}` } });
    expect(refusal({ url: `https://127.0.0.1:${CDN}/blob`, policy: mixed, role: 'redirect' }).code).toBe('invalid');
  });

  it.each(['http://127.0.0.1:8080', 'https://user@127.0.0.1:1', 'https://127.0.0.1:1/path', 'https://2130706433:1', 'not a url', 'https://127.0.0.1:1?x=1'])(
    'refuses the endpoint %j',
    (endpoint) => {
      expect(() => buildProviderPolicy({ provider: 'hf', env: { LORASMITH_HF_ENDPOINT: endpoint } })).toThrow(LorasmithError);
    },
  );

  it('binds the token to the default API origin', () => {
    const withToken = buildProviderPolicy({ provider: 'civitai', env: {}, token: 'civitai_canary_5f0c0000' });
    expect(withToken.credential).toEqual({ header: 'authorization', value: 'Bearer civitai_canary_5f0c0000', origins: ['https://civitai.com'] });
  });
});

describe('policy and entry checks', () => {
  it('refuses unanchored host patterns and suffix exemptions', () => {
    expect(() => assertPolicy({ name: 'url', apiHosts: [], redirectHosts: [/cdn\.example\.com/], exemptHosts: [] })).toThrow(/anchored/);
    expect(() => assertPolicy({ name: 'url', apiHosts: [], redirectHosts: [/^cdn\.example\.com/], exemptHosts: [] })).toThrow(/anchored/);
    expect(() => assertPolicy({ name: 'url', apiHosts: [], redirectHosts: [], exemptHosts: ['.example.com'] })).toThrow(/exact/);
    expect(() => assertPolicy({ name: 'url', apiHosts: ['a b'], redirectHosts: [], exemptHosts: [] })).toThrow();
  });

  it('matches exactly or on a label boundary, never by substring', () => {
    expect(hostMatches('a.hf.co', 443, ['.hf.co'])).toBe(true);
    expect(hostMatches('hf.co', 443, ['.hf.co'])).toBe(false);
    expect(hostMatches('ahf.co', 443, ['.hf.co'])).toBe(false);
    expect(hostMatches('a.hf.co', 8443, ['.hf.co'])).toBe(false);
    expect(hostMatches('cdn.example', 9443, ['cdn.example:9443'])).toBe(true);
    expect(hostMatches('cdn.example', 443, ['cdn.example:9443'])).toBe(false);
  });

  it.each([
    ['https://a/b', undefined],
    ['https://a\\b', 'backslash'],
    ['https://a/ b', 'whitespace'],
    ['https://a/\u007f', 'control'],
    ['https://a@b/', '@'],
    ['https://a%2eb/', '%'],
    ['https:a/b', '//'],
    ['/relative/path?x=%20', undefined],
  ])('rawUrlProblem(%j)', (raw, fragment) => {
    const problem = rawUrlProblem(raw);
    if (fragment === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(fragment);
  });
});

describe('checkUrl properties (fixed seed)', () => {
  const seed = 20_260_821;
  const hfRedirect = (hostname: string): boolean =>
    ['huggingface.co', 'hf.co', 'cdn-lfs.huggingface.co', 'cdn-lfs-us-1.huggingface.co'].includes(hostname) || hostname.endsWith('.hf.co');

  it('never accepts an arbitrary string unless it is https on an allowed host', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.webUrl({ withFragments: true, withQueryParameters: true }), fc.string({ unit: 'binary', maxLength: 60 })), (raw) => {
        for (const role of ['api', 'redirect'] as const) {
          let accepted;
          try {
            accepted = checkUrl({ url: raw, policy: hf, role });
          } catch (error) {
            expect(error).toBeInstanceOf(LorasmithError);
            continue;
          }
          expect(accepted.url.protocol).toBe('https:');
          expect(accepted.url.username + accepted.url.password).toBe('');
          expect(accepted.port).toBe(443);
          expect(role === 'api' ? accepted.hostname === 'huggingface.co' : hfRedirect(accepted.hostname)).toBe(true);
          expect(rawUrlProblem(accepted.href)).toBeUndefined();
        }
      }),
      { seed, numRuns: 3000 },
    );
  });

  const hosts: Array<[string, boolean]> = [
    ['huggingface.co', true],
    ['HuggingFace.Co', true],
    ['huggingface.co.', true],
    ['evil.test', false],
    ['huggingface.co.evil.test', false],
    ['evil-huggingface.co', false],
    ['127.0.0.1', false],
    ['[::1]', false],
    ['2130706433', false],
    ['xn--huggingfac-tsi.co', false],
    ['hf.co', false],
  ];

  it('accepts a composed URL iff https, no userinfo, allowed host, port 443', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('https', 'HTTPS', 'http', 'ftp', 'wss'),
        fc.option(fc.constantFrom('u', 'u:p', 'huggingface.co'), { nil: undefined }),
        fc.constantFrom(...hosts),
        fc.option(fc.constantFrom('443', '8443', '80', '0'), { nil: undefined }),
        fc.array(fc.stringMatching(/^[a-zA-Z0-9._~-]{1,8}$/), { maxLength: 4 }),
        (scheme, userinfo, [host, allowed], port, segments) => {
          const raw = `${scheme}://${userinfo === undefined ? '' : `${userinfo}@`}${host}${port === undefined ? '' : `:${port}`}/${segments.join('/')}`;
          const shouldPass = scheme.toLowerCase() === 'https' && userinfo === undefined && allowed && (port === undefined || port === '443');
          let passed = false;
          try {
            passed = checkUrl({ url: raw, policy: hf }).hostname === 'huggingface.co';
          } catch (error) {
            expect(error).toBeInstanceOf(LorasmithError);
          }
          expect(passed).toBe(shouldPass);
        },
      ),
      { seed, numRuns: 2000 },
    );
  });

  it('refuses any hostile character inserted into the authority of an allowed URL', () => {
    const base = 'https://huggingface.co/org/model';
    const authorityEnd = 'https://huggingface.co'.length;
    fc.assert(
      fc.property(fc.constantFrom('\\', ' ', '\t', '\n', '\u0000', '@', '%', '%2e', '\u00a0', '\u3000', '\u007f', '\u0085'), fc.integer({ min: 8, max: authorityEnd }), (insert, at) => {
        const raw = base.slice(0, at) + insert + base.slice(at);
        expect(() => checkUrl({ url: raw, policy: hf })).toThrow(LorasmithError);
      }),
      { seed, numRuns: 500 },
    );
  });

  it('keeps exempt loopback endpoints exact under random ports and addresses', () => {
    const policy: ProviderPolicy = buildProviderPolicy({ provider: 'hf', env: { LORASMITH_HF_ENDPOINT: 'https://127.0.0.1:8443' } });
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), (ip, port) => {
        const raw = `https://${ip}:${port}/x`;
        let passed = false;
        try {
          passed = checkUrl({ url: raw, policy }).exempt;
        } catch (error) {
          expect(error).toBeInstanceOf(LorasmithError);
        }
        expect(passed).toBe(ip === '127.0.0.1' && port === 8443);
      }),
      { seed, numRuns: 1000 },
    );
  });
});

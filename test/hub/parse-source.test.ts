/** DL-R12 source grammar, HF-R01 names, HF-R04 paths, HF-A01 host confusion; properties with fast-check. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildUrlPolicy } from '../../src/hub/build-provider-policy.ts';
import { repoIdProblem, repoPathProblem, resolveUrl, revisionProblem } from '../../src/hub/hf/hf-names.ts';
import { globToRegExp, matchesAny } from '../../src/hub/glob.ts';
import { assertUrlSourceAllowed, parseSource, type PullSource } from '../../src/hub/parse-source.ts';

const C = 'a'.repeat(40);

describe('parseSource: the DL-R12 table', () => {
  const table: Array<[string, PullSource]> = [
    ['hf:org/m:a.safetensors', { type: 'hf', repo: 'org/m', revision: 'main', path: 'a.safetensors', folder: false }],
    ['hf:org/m@refs/pr/1:dir/x:y.safetensors', { type: 'hf', repo: 'org/m', revision: 'refs/pr/1', path: 'dir/x:y.safetensors', folder: false }],
    ['hf:gpt2:config.json', { type: 'hf', repo: 'gpt2', revision: 'main', path: 'config.json', folder: false }],
    [`hf:org/m@${C}:unet/`, { type: 'hf', repo: 'org/m', revision: C, path: 'unet', folder: true }],
    ['hf:org/m@v1.0:', { type: 'hf', repo: 'org/m', revision: 'v1.0', path: '', folder: true }],
    ['https://huggingface.co/org/m/resolve/main/a.safetensors', { type: 'hf', repo: 'org/m', revision: 'main', path: 'a.safetensors', folder: false }],
    ['https://huggingface.co/org/m/blob/refs%2Fpr%2F1/dir/x:y.safetensors', { type: 'hf', repo: 'org/m', revision: 'refs/pr/1', path: 'dir/x:y.safetensors', folder: false }],
    ['https://huggingface.co/gpt2/resolve/main/config.json?download=true', { type: 'hf', repo: 'gpt2', revision: 'main', path: 'config.json', folder: false }],
    ['https://HuggingFace.CO./org/m/resolve/main/a%23b.safetensors', { type: 'hf', repo: 'org/m', revision: 'main', path: 'a#b.safetensors', folder: false }],
    ['civitai:123', { type: 'civitai', versionId: 123 }],
    ['civitai:123:456', { type: 'civitai', versionId: 123, fileId: 456 }],
    ['https://civitai.com/models/9/x?modelVersionId=123', { type: 'civitai', versionId: 123 }],
    ['https://civitai.com/models/9?modelVersionId=123', { type: 'civitai', versionId: 123 }],
    ['https://example.org/x.safetensors', { type: 'url', url: 'https://example.org/x.safetensors', host: 'example.org' }],
  ];
  for (const [raw, expected] of table) {
    it(raw, () => expect(parseSource(raw)).toEqual(expected));
  }

  const refused = [
    'hf:org/m',
    'hf:org/m@main',
    'hf:../m:a',
    'hf:org/m@..:a',
    'hf:org/m@-x:a',
    'hf:org/m:../../.bashrc',
    'hf:org/m:/etc/passwd',
    'hf:org/m:a//b',
    'hf:org/m:a/./b',
    'hf:org/m:C:x',
    'hf:org/m:a\\b',
    'hf:a/b/c:x',
    'hf:org/m.git:x',
    'hf:org/m--x:a',
    'civitai:0',
    'civitai:-1',
    'civitai:2147483648',
    'civitai:12:x',
    'civitai:1:2:3',
    'http://huggingface.co/org/m/resolve/main/a',
    'https://huggingface.co/org/m',
    'https://huggingface.co/datasets/org/d/resolve/main/a',
    'https://civitai.com/models/9',
    'https://huggingface.co@evil.test/',
    'https://huggingface.co\\@evil.test/',
    'https://huggingface.co%2eevil.test/',
    'ftp://example.org/x',
    'org/m:a.safetensors',
  ];
  for (const raw of refused) {
    it(`refuses ${JSON.stringify(raw)}`, () => {
      expect(() => parseSource(raw)).toThrow(expect.objectContaining({ code: 'invalid-source', exitCode: 2 }) as Error);
    });
  }

  it('HF-A01: lookalike hosts are not Hugging Face; as plain URLs they need an allowed host', () => {
    const policy = buildUrlPolicy({ hosts: ['example.org'] });
    for (const raw of ['https://huggingface.co.evil.test/x', 'https://evil.test/huggingface.co/x', 'https://evil.test#@huggingface.co', 'https://huggingfacе.co/', 'https://2130706433/', 'https://0x7f.1/', 'https://huggingface.co:8443/org/m/resolve/main/x']) {
      let source: PullSource;
      try {
        source = parseSource(raw);
      } catch {
        continue; // refused outright: fine
      }
      expect(source.type, raw).toBe('url');
      if (source.type === 'url') expect(() => assertUrlSourceAllowed(source, { policy, acceptUnverified: true }), raw).toThrow();
    }
  });

  it('plain URLs: refused without --sha256, refused on a host the settings do not allow, accepted with --accept-unverified', () => {
    const source = parseSource('https://example.org/x.safetensors');
    if (source.type !== 'url') throw new Error('expected url');
    const policy = buildUrlPolicy({ hosts: ['example.org'] });
    expect(() => assertUrlSourceAllowed(source, { policy })).toThrow(/--sha256/);
    expect(() => assertUrlSourceAllowed(source, { policy: buildUrlPolicy({ hosts: [] }), sha256: 'a'.repeat(64) })).toThrow(/not an allowed/);
    expect(assertUrlSourceAllowed(source, { policy, acceptUnverified: true })).toBe('https://example.org/x.safetensors');
    expect(assertUrlSourceAllowed(source, { policy, sha256: 'A'.repeat(64) })).toBe('https://example.org/x.safetensors');
    expect(() => assertUrlSourceAllowed(source, { policy, sha256: 'xyz' })).toThrow(/64 hex/);
  });
});

describe('HF names (HF-R01, HF-R04, HF-R07)', () => {
  it('HF-A14-style repo ids and revisions', () => {
    for (const ok of ['gpt2', 'org/m', 'a.b_c-d/E.F', 'x'.repeat(96)]) expect(repoIdProblem(ok), ok).toBeUndefined();
    for (const bad of ['', 'a/b/c', '-a', 'a-', '.a', 'a.', 'a--b', 'a..b', 'a.git', 'x'.repeat(97), 'a b', 'a:b', 'a@b']) expect(repoIdProblem(bad), bad).toBeDefined();
    for (const ok of ['main', 'refs/pr/1', 'v1.0', C]) expect(revisionProblem(ok), ok).toBeUndefined();
    for (const bad of ['', '..', 'a/../b', '/main', '-x', 'a b', 'a:b', 'x'.repeat(201)]) expect(revisionProblem(bad), bad).toBeDefined();
  });

  it('resolve URLs encode the revision completely and the path per segment', () => {
    expect(resolveUrl('https://huggingface.co', 'org/m', 'refs/pr/1', 'dir/a#b?c d.safetensors')).toBe('https://huggingface.co/org/m/resolve/refs%2Fpr%2F1/dir/a%23b%3Fc%20d.safetensors');
  });

  it('property: any accepted repo path has no empty, "." or ".." segment, no backslash, no leading "/"', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', '.', '/', '\\', ':', 'C', ' ', '\u202e', '#') }), (candidate) => {
        if (repoPathProblem(candidate) !== undefined) return;
        const segments = candidate.split('/');
        expect(candidate.startsWith('/')).toBe(false);
        expect(candidate.includes('\\')).toBe(false);
        for (const segment of segments) expect(['', '.', '..']).not.toContain(segment);
        expect(/^[A-Za-z]:/.test(candidate)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: hf:<repo>@<rev>:<path> round-trips for valid parts, whatever ":" the path holds', () => {
    const part = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_]{0,10}$/);
    // Windows device names (CON, NUL, COM1 …) are refused on purpose (HF-R04, ARC-R07): not "valid parts".
    const segment = fc
      .stringMatching(/^[A-Za-z0-9_:#?-]{1,12}$/)
      .filter((s) => !/^[A-Za-z]:/.test(s) && !/[. ]$/.test(s) && !/^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i.test(s));
    fc.assert(
      fc.property(part, part, fc.constantFrom('main', 'refs/pr/7', 'v2', C), fc.array(segment, { minLength: 1, maxLength: 4 }), (owner, name, revision, segments) => {
        const filePath = segments.join('/');
        const source = parseSource(`hf:${owner}/${name}@${revision}:${filePath}`);
        expect(source).toEqual({ type: 'hf', repo: `${owner}/${name}`, revision, path: filePath, folder: false });
        // The matching resolve URL means the same.
        const url = resolveUrl('https://huggingface.co', `${owner}/${name}`, revision, filePath);
        expect(parseSource(url)).toEqual(source);
      }),
      { numRuns: 500 },
    );
  });

  it('property: civitai ids round-trip and anything else is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (version, file) => {
        expect(parseSource(`civitai:${version}:${file}`)).toEqual({ type: 'civitai', versionId: version, fileId: file });
      }),
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          const source = parseSource(`civitai:${text}`);
          expect(source.type).toBe('civitai');
          // The source is trimmed as a whole (a pasted trailing newline is no error).
          expect(/^[1-9][0-9]*(:[1-9][0-9]*)?$/.test(text.replace(/\s+$/, ''))).toBe(true);
        } catch (error) {
          expect(error).toMatchObject({ code: 'invalid-source' });
        }
      }),
    );
  });

  it('property: parseSource never throws anything but invalid-source', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string().map((s) => `hf:${s}`)), (raw) => {
        try {
          parseSource(raw);
        } catch (error) {
          expect(error).toMatchObject({ code: 'invalid-source' });
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('include globs', () => {
  it('matches base names without "/" and relative paths with it', () => {
    expect(matchesAny('sub/b.safetensors', ['*.safetensors'])).toBe(true);
    expect(matchesAny('sub/b.safetensors', ['sub/*.safetensors'])).toBe(true);
    expect(matchesAny('sub/deep/b.safetensors', ['sub/*.safetensors'])).toBe(false);
    expect(matchesAny('sub/deep/b.safetensors', ['sub/**/*.safetensors'])).toBe(true);
    expect(matchesAny('README.md', ['*.safetensors'])).toBe(false);
    expect(matchesAny('anything', [])).toBe(true);
    expect(globToRegExp('a?[bc].x').test('a1c.x')).toBe(true);
  });
});

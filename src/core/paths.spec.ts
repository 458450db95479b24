import fc from 'fast-check';
import { mkdir, mkdtemp, realpath, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLorasmithError } from './errors.ts';
import { resolveInside, splitRelativePath } from './paths.ts';

let root: string;
let outside: string;

beforeAll(async () => {
  const base = await realpath(await mkdtemp(path.join(os.tmpdir(), 'lorasmith-paths-')));
  root = path.join(base, 'root');
  outside = path.join(base, 'outside');
  await mkdir(path.join(root, 'sub', 'deeper'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(outside, 'secret.txt'), 'x');
  await symlink(outside, path.join(root, 'escape'));
  await symlink('/', path.join(root, 'sub', 'to-root'));
  await symlink(path.join(root, 'sub'), path.join(root, 'inner-link'));
  await symlink(path.join(root, 'missing-target'), path.join(root, 'dangling'));
});

/** `..a` is a name inside the root; only `..` itself or `../…` leaves it. */
const escapes = (candidate: string) => {
  const relative = path.relative(root, candidate);
  return relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
};

const refusedFor = async (input: string) => {
  try {
    await resolveInside({ root, input });
    return null;
  } catch (error) {
    if (!isLorasmithError(error)) throw error;
    expect(error.code).toBe('path-refused');
    return error.message;
  }
};

describe('splitRelativePath (lexical rules)', () => {
  it.each([
    ['', 'empty'],
    ['../etc/passwd', '".." segment'],
    ['a/../../b', '".." segment'],
    ['/etc/passwd', 'absolute'],
    ['C:\\Windows\\win.ini', 'backslash'],
    ['C:/Windows/win.ini', 'drive letter'],
    ['\\\\attacker\\share\\x', 'backslash'],
    ['\\\\?\\C:\\x', 'backslash'],
    ['a\0b', 'NUL'],
    ['a/./b', '"." segment'],
    ['a//b', 'empty segment'],
    ['a/', 'empty segment'],
    ['%2e%2e/x', 'percent-encoded'],
    ['..%2fetc', 'percent-encoded'],
    ['a%5cb', 'percent-encoded'],
    ['line\nbreak', 'control characters'],
  ])('refuses %j (%s)', (input, reason) => {
    expect(() => splitRelativePath(input)).toThrow(reason);
  });

  it('accepts plain relative paths', () => {
    expect(splitRelativePath('models/lora/a b (1).safetensors')).toEqual(['models', 'lora', 'a b (1).safetensors']);
    expect(splitRelativePath('..hidden/x..y')).toEqual(['..hidden', 'x..y']);
  });
});

describe('resolveInside (filesystem rules)', () => {
  it('resolves paths that stay inside, existing or not', async () => {
    expect(await resolveInside({ root, input: 'sub/deeper/new.txt' })).toBe(path.join(root, 'sub', 'deeper', 'new.txt'));
    expect(await resolveInside({ root, input: 'inner-link/deeper' })).toBe(path.join(root, 'inner-link', 'deeper'));
  });

  it('refuses symlink escapes, through a folder link or to a file beyond', async () => {
    expect(await refusedFor('escape')).toContain('outside');
    expect(await refusedFor('escape/secret.txt')).toContain('outside');
    expect(await refusedFor('escape/new/file')).toContain('outside');
    expect(await refusedFor('sub/to-root/etc/passwd')).toContain('outside');
  });

  it('refuses a dangling symlink (writing through it would land elsewhere)', async () => {
    expect(await refusedFor('dangling')).toContain('does not resolve');
  });

  it('property: any input either is refused or resolves to a path inside the root (realpath included)', async () => {
    const alphabet = fc.constantFrom('a', 'b', '.', '..', '/', '\\', '\0', ':', 'C', '%2f', '%2e', ' ', 'escape', 'sub', 'to-root', 'inner-link', 'dangling', '\u202e', '~');
    await fc.assert(
      fc.asyncProperty(fc.array(alphabet, { maxLength: 12 }).map((parts) => parts.join('')), async (input) => {
        let resolved: string;
        try {
          resolved = await resolveInside({ root, input });
        } catch (error) {
          if (isLorasmithError(error) && error.code === 'path-refused') return;
          throw error;
        }
        expect(escapes(resolved)).toBe(false);
        // Follow whatever part exists: it must still be inside.
        let existing = resolved;
        for (;;) {
          try {
            existing = await realpath(existing);
            break;
          } catch {
            existing = path.dirname(existing);
          }
        }
        expect(escapes(existing)).toBe(false);
      }),
      { seed: 20261201, numRuns: 400 },
    );
  });
});

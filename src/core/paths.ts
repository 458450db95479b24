/**
 * The one path resolver every user-data path goes through (DESIGN.md §6.3, WEB-R09).
 *
 * Input is a relative path that came from a user, an API client, an archive or a hub; the output is an
 * absolute path inside the given root. Lexical rules refuse anything that is not a plain relative path;
 * the filesystem check then follows symlinks so a link planted inside the root cannot lead out of it.
 */
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { LorasmithError, errnoCode } from './errors.ts';

const MAX_PATH_BYTES = 4096;
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
/** Percent-encoded `/`, `\` and `.`: fastify decoded once already, a second layer is an attack (WEB-R09). */
const ENCODED_SEPARATORS = /%(2f|5c|2e)/i;

function refuse(input: string, what: string, reason: string): LorasmithError {
  return new LorasmithError({
    code: 'path-refused',
    message: `The ${what} ${JSON.stringify(input.slice(0, 200))} was refused: ${reason}.`,
    hint: `Give a relative path inside the ${what === 'path' ? 'workspace' : what.split(' ')[0]} using "/" between names, without "..", drive letters or a leading "/".`,
    exitCode: 2,
    status: 400,
  });
}

/** Lexical check; returns the path's segments. Throws `path-refused` with the reason. */
export function splitRelativePath(input: string, what = 'path'): string[] {
  if (typeof input !== 'string' || input.length === 0) throw refuse(String(input), what, 'it is empty');
  if (Buffer.byteLength(input) > MAX_PATH_BYTES) throw refuse(input, what, `it is longer than ${MAX_PATH_BYTES} bytes`);
  if (input.includes('\0')) throw refuse(input, what, 'it contains a NUL byte');
  if (CONTROL_CHARS.test(input)) throw refuse(input, what, 'it contains control characters');
  if (input.includes('\\')) throw refuse(input, what, 'it contains a backslash (Windows separators and UNC paths are not accepted)');
  if (input.startsWith('/')) throw refuse(input, what, 'it is absolute');
  if (/^[A-Za-z]:/.test(input)) throw refuse(input, what, 'it starts with a drive letter');
  if (ENCODED_SEPARATORS.test(input)) throw refuse(input, what, 'it contains a percent-encoded separator or dot');
  const segments = input.split('/');
  for (const segment of segments) {
    if (segment === '') throw refuse(input, what, 'it has an empty segment ("//" or a trailing "/")');
    if (segment === '.' || segment === '..') throw refuse(input, what, `it has a "${segment}" segment`);
  }
  return segments;
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

export interface ResolveInsideParams {
  /** Absolute directory the result must stay in (a workspace area such as `datasets/`). */
  root: string;
  /** Untrusted relative path. */
  input: string;
  /** Words for error messages, e.g. "dataset path". */
  what?: string;
}

/**
 * Resolve `input` under `root`, following symlinks: the deepest existing ancestor (and the target, when it
 * exists) must resolve inside `realpath(root)`. A dangling symlink is refused, since writing through it
 * would create a file wherever it points.
 */
export async function resolveInside(params: ResolveInsideParams): Promise<string> {
  const what = params.what ?? 'path';
  const segments = splitRelativePath(params.input, what);
  const realRoot = await realpath(params.root);
  const lexical = path.join(realRoot, ...segments);
  let existing = lexical;
  for (;;) {
    try {
      await lstat(existing);
      break;
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT' && errnoCode(error) !== 'ENOTDIR') throw error;
      existing = path.dirname(existing);
    }
  }
  let real: string;
  try {
    real = await realpath(existing);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ELOOP') throw refuse(params.input, what, 'it goes through a symlink that does not resolve');
    throw error;
  }
  if (!isInside(realRoot, real)) throw refuse(params.input, what, 'it leads outside its folder through a symlink');
  return lexical;
}

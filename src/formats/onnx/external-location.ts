import path from 'node:path';

/**
 * Policy for an initializer's external-data `location` (ONNX: a POSIX path relative to the model's
 * folder). The file decides where we read from, so it must never leave the bundle folder: no absolute
 * paths, no `..` anywhere, no backslashes (a Windows separator a POSIX check would miss), no NUL or other
 * control characters. Returns why the location is refused, or `undefined`.
 */
export function externalLocationProblem(location: string): string | undefined {
  if (location.length === 0) return 'is empty';
  if (location.includes('\u0000')) return 'contains a NUL byte';
  if (/[\u0001-\u001f\u007f]/.test(location)) return 'contains a control character';
  if (location.includes('\\')) return 'contains a backslash';
  if (location.startsWith('/') || /^[A-Za-z]:/.test(location)) return 'is an absolute path';
  if (location.includes('..')) return 'contains ".."';
  const normal = path.posix.normalize(location);
  if (normal === '.' || normal.endsWith('/')) return 'names a folder, not a file';
  return undefined;
}

/**
 * The absolute path of an external-data file inside `bundleDir`, or `undefined` when the location is
 * refused or would resolve outside the folder. Symlinks are the opener's concern: open the result through
 * the workspace resolver, which refuses links that escape.
 */
export function resolveExternalDataPath(params: { bundleDir: string; location: string }): string | undefined {
  if (externalLocationProblem(params.location) !== undefined) return undefined;
  const root = path.resolve(params.bundleDir);
  const target = path.resolve(root, params.location);
  const relative = path.relative(root, target);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  return target;
}

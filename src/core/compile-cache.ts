/**
 * Node's on-disk compile cache for lorasmith's own processes (the CLI, the run shim). Every start strips the
 * types of a few hundred modules and compiles them; the cache keeps the result, so a later start skips most
 * of that (`lorasmith token list`: ≈ 1.6–2.1 s → ≈ 1.0–1.2 s here, with the lazy verbs). It lives beside the
 * code, in node_modules/.cache/lorasmith, where only whoever can change the code itself can write; if that
 * folder is not writable Node leaves the cache off and the process starts as before.
 *
 * Call it before the modules it should cover are imported (they are imported dynamically after it).
 */
import { enableCompileCache } from 'node:module';

export const COMPILE_CACHE_DIR: string = new URL('../../node_modules/.cache/lorasmith', import.meta.url).pathname;

export function enableLorasmithCompileCache(): void {
  enableCompileCache(COMPILE_CACHE_DIR);
}

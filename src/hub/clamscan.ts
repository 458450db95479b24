/**
 * An extra, optional virus scan of quarantined downloads with ClamAV's `clamscan`, when it is on PATH:
 * argv only (never a shell), a fixed environment, a time limit. Exit 0 = clean, 1 = a signature
 * matched (`unsafe`); anything else (no database, an error) is reported as a warning, never as clean
 * and never as a refusal: our own validators already decided the file is what it claims to be.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { hubError } from './hub-error.ts';

export interface ClamscanResult {
  verdict: 'clean' | 'infected' | 'error';
  /** The signature name (infected) or a short error line. */
  detail: string | null;
}

/** The first executable `clamscan` on PATH, or null. */
export async function findClamscan(envPath: string | undefined = process.env.PATH): Promise<string | null> {
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (dir === '' || !path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, 'clamscan');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export async function runClamscan(params: { clamscan: string; file: string; timeoutMs?: number; signal?: AbortSignal }): Promise<ClamscanResult> {
  return await new Promise<ClamscanResult>((resolve) => {
    execFile(
      params.clamscan,
      ['--no-summary', '--stdout', '--infected', '--', params.file],
      { shell: false, timeout: params.timeoutMs ?? 30 * 60_000, maxBuffer: 1024 * 1024, env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' }, ...(params.signal === undefined ? {} : { signal: params.signal }) },
      (error, stdout) => {
        const exit = error === null ? 0 : typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : -1;
        const line = String(stdout).split('\n').find((candidate) => candidate.includes('FOUND'));
        if (exit === 0) resolve({ verdict: 'clean', detail: null });
        else if (exit === 1) resolve({ verdict: 'infected', detail: (line?.split(': ').slice(1).join(': ').replace(/\s*FOUND\s*$/, '') ?? 'a signature matched').slice(0, 200) });
        else resolve({ verdict: 'error', detail: `clamscan exited ${exit}` });
      },
    );
  });
}

/** Throw `unsafe` when clamscan finds something. */
export async function assertClamscanClean(params: { clamscan: string; file: string; name: string; signal?: AbortSignal }): Promise<ClamscanResult> {
  const result = await runClamscan(params);
  if (result.verdict === 'infected') {
    throw hubError({
      code: 'unsafe',
      message: `ClamAV flagged ${params.name} (${result.detail ?? 'a signature matched'}); it was deleted.`,
      hint: 'Do not use this file; report it to the provider.',
      details: { scanner: 'clamscan' },
    });
  }
  return result;
}

import type { Finding, Verdict } from './types.ts';

const SEVERITY: Readonly<Record<Verdict, number>> = { safe: 0, unsupported: 1, invalid: 2, unsafe: 3 };

/**
 * The file's verdict is its worst finding: `unsafe` (a disallowed import, call or opcode) outranks `invalid`
 * (unparseable), so a payload followed by a broken tail is reported as the payload (PKL-A15), never as
 * "not a pickle"; `invalid` outranks `unsupported`.
 */
export function verdictOf(findings: readonly Finding[]): Verdict {
  let verdict: Verdict = 'safe';
  for (const finding of findings) {
    if (SEVERITY[finding.verdict] > SEVERITY[verdict]) verdict = finding.verdict;
  }
  return verdict;
}

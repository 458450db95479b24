/**
 * An approximate CLIP token count, without shipping CLIP's 49,408-entry BPE vocabulary.
 *
 * The text is split with CLIP's own pre-tokenizer pattern (openai/CLIP `simple_tokenizer.py`, case-folded):
 * runs of letters, single digits, runs of other non-space characters. Then, instead of BPE merges:
 * - a run of letters counts one token per started 8 letters ("smile" 1, "thighhighs" 2);
 * - a digit counts 1 (CLIP never merges digits);
 * - a run of punctuation counts one token per character ("((", ":" and "," each character once).
 * Common English and booru words are single CLIP tokens up to about 8–10 letters, so this tends to count a
 * little high on long words and punctuation: a caption reported just over the budget may still fit, one
 * reported well over it does not. It is a lint heuristic, not what the engine computes.
 */
const PIECES = /'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/gu;
const CONTRACTION = /^'(s|t|re|ve|m|ll|d)$/;
const LETTERS_PER_TOKEN = 8;

export function approximateClipTokens(text: string): number {
  let tokens = 0;
  for (const [piece] of text.toLowerCase().matchAll(PIECES)) {
    if (CONTRACTION.test(piece)) tokens += 1;
    else if (/^\p{L}/u.test(piece)) tokens += Math.ceil([...piece].length / LETTERS_PER_TOKEN);
    else tokens += [...piece].length;
  }
  return tokens;
}

/**
 * kohya's caption budget: `--max_token_length` unset means one 75-token chunk; 150 and 225 mean two or three
 * chunks (reference §3.3). The BOS/EOS tokens of each chunk are not part of it.
 */
export type MaxTokenLength = 75 | 150 | 225;

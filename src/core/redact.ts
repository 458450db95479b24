/**
 * One redaction layer for every log line, error response, task record and crash report (LOG-R02).
 * Known secret literals (tokens from the secret store, the API secret, named tokens, pairing codes) are
 * registered at runtime; patterns catch what was never registered (a Hugging Face token pasted into a
 * message, a signed CDN URL's query).
 */
const REDACTED = '[REDACTED]';

const SENSITIVE_QUERY_PARAMS = [
  'token',
  'code',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'signature',
  'policy',
  'key-pair-id',
  'authorization',
];

const TOKEN_PATTERNS: RegExp[] = [/hf_[A-Za-z0-9]{20,}/g, /\bls[mcsp]_[A-Za-z0-9_-]{20,}/g, /\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi];
/** `?token=…`, `&X-Amz-Signature=…`: the name stays readable, the value goes. */
const QUERY_PATTERN = new RegExp(`([?&;](?:${SENSITIVE_QUERY_PARAMS.join('|')})=)[^&#\\s"']*`, 'gi');

/** Literals shorter than this are never registered: redacting "a" would mangle every log line. */
const MIN_LITERAL_LENGTH = 8;
const literals = new Set<string>();

export function registerSecret(value: string | null | undefined): void {
  if (typeof value === 'string' && value.length >= MIN_LITERAL_LENGTH) literals.add(value);
}

export function redactString(input: string): string {
  let out = input;
  for (const literal of literals) {
    if (out.includes(literal)) out = out.split(literal).join(REDACTED);
  }
  for (const pattern of TOKEN_PATTERNS) out = out.replace(pattern, REDACTED);
  return out.replace(QUERY_PATTERN, `$1${REDACTED}`);
}

const SENSITIVE_KEYS = /^(authorization|cookie|set-cookie|proxy-authorization|x-lorasmith-upload|token|secret|password|apikey|api_key|value)$/i;

/** Deep copy with every string redacted and every sensitive key's value replaced. Cycles are cut. */
export function redactDeep(value: unknown, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return redactString(value);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, seen));
  if (value instanceof Error) {
    return { name: value.name, message: redactString(value.message), ...redactedEntries(value, seen) };
  }
  return redactedEntries(value, seen);
}

function redactedEntries(value: object, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SENSITIVE_KEYS.test(key) && item !== null && item !== undefined ? REDACTED : redactDeep(item, seen);
  }
  return out;
}

/** A URL as logs may show it: scheme, host and path, never the query or fragment (LOG-R02). */
export function urlForLog(url: string | URL): string {
  try {
    const parsed = typeof url === 'string' ? new URL(url) : url;
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '[unparseable url]';
  }
}

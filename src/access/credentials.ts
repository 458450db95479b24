import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every credential lorasmith issues: ≥ 256 bits from the CSPRNG, with a prefix the redactor knows. */
export function newCredential(prefix: 'lsm' | 'lsp' | 'lss' | 'lsc'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Compare digests of equal length in constant time (timingSafeEqual throws on unequal lengths). */
export function digestsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

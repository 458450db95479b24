import { describe, expect, it } from 'vitest';
import { redactDeep, redactString, registerSecret, urlForLog } from './redact.ts';

describe('redaction (LOG-R02)', () => {
  it('catches Hugging Face tokens, bearer headers, our credentials and signed-URL parameters', () => {
    const text = [
      'token hf_abcdefghijklmnopqrstuvwxyz123 leaked',
      'Authorization: Bearer abc.def-ghi',
      'secret lsm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      'https://cdn.example/x?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA/1&ok=1',
      'https://studio/pair?code=lsp_xyz',
    ].join('\n');
    const out = redactString(text);
    for (const leak of ['hf_abcdefghijklmnopqrstuvwxyz123', 'abc.def-ghi', 'lsm_AAAA', 'deadbeef', 'AKIA/1', 'lsp_xyz']) expect(out).not.toContain(leak);
    expect(out).toContain('X-Amz-Signature=[REDACTED]');
    expect(out).toContain('ok=1');
  });

  it('catches registered literals such as a Civitai key that matches no pattern', () => {
    registerSecret('civitai-0123456789abcdef');
    expect(redactString('key civitai-0123456789abcdef in a message')).toBe('key [REDACTED] in a message');
  });

  it('walks objects and errors, censors sensitive keys and survives cycles', () => {
    const value: Record<string, unknown> = { headers: { Authorization: 'x', cookie: 'y' }, nested: [{ token: 'z', note: 'hf_abcdefghijklmnopqrstuvwxyz000' }], err: new Error('failed with hf_abcdefghijklmnopqrstuvwxyz111') };
    value.self = value;
    const out = JSON.stringify(redactDeep(value));
    for (const leak of ['"x"', '"y"', '"z"', 'hf_abc']) expect(out).not.toContain(leak);
    expect(out).toContain('[Circular]');
  });

  it('urlForLog keeps host and path, never the query', () => {
    expect(urlForLog('https://cdn-lfs.hf.co/repos/a/b?X-Amz-Signature=1#f')).toBe('https://cdn-lfs.hf.co/repos/a/b');
  });
});

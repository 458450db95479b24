import { describe, expect, it } from 'vitest';
import { sniffMarkup } from './sniff-markup.ts';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'utf8');

describe('sniffMarkup (DL-R09)', () => {
  it.each([
    ['<!DOCTYPE html><html>', 'html'],
    ['\n  <html lang="en">', 'html'],
    ['\ufeff<!doctype html>', 'html'],
    ['<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>', 'html'],
    ['<Error><Code>SignatureDoesNotMatch</Code></Error>', 'html'],
    ['{"error":"Unauthorized"}', 'json'],
    [' [1,2,3]', 'json'],
  ])('recognises %j as %s', (text, kind) => {
    expect(sniffMarkup(bytes(text))).toBe(kind);
  });

  it('does not mistake model files for markup', () => {
    const safetensors = Buffer.alloc(16);
    safetensors.writeBigUInt64LE(0x7bn, 0); // header length 123: first byte "{"
    expect(sniffMarkup(safetensors)).toBeUndefined();
    const lessThan = Buffer.alloc(16);
    lessThan.writeBigUInt64LE(0x3cn, 0); // first byte "<"
    expect(sniffMarkup(lessThan)).toBeUndefined();
    expect(sniffMarkup(bytes('PK\u0003\u0004'))).toBeUndefined();
    expect(sniffMarkup(bytes('GGUF'))).toBeUndefined();
    expect(sniffMarkup(new Uint8Array())).toBeUndefined();
  });
});

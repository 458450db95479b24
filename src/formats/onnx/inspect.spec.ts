import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMutations, mutationArbitrary } from '../safetensors/testing.ts';
import { externalLocationProblem, resolveExternalDataPath } from './external-location.ts';
import { inspectOnnxFile, inspectOnnxModel, looksLikeOnnxModel } from './inspect.ts';
import type { OnnxInspection } from './inspect.ts';
import { bytesField, graphProto, intField, message, modelProto, tag, tensorProto, varint } from './testing.ts';

const code = (result: OnnxInspection): string => (result.ok ? 'ok' : result.reason.code);
const withInitializers = (...initializers: Buffer[]): Buffer => modelProto({ graph: graphProto({ initializers }) });

describe('inspectOnnxModel', () => {
  it('reads ir_version, producer, opsets and lists external-data locations', () => {
    const model = withInitializers(
      tensorProto({ name: 'inline', raw: new Uint8Array(16) }),
      tensorProto({ name: 'w', external: { location: 'weights.bin', offset: '4096', length: '16' } }),
      tensorProto({ name: 'b', external: { location: 'data/bias.bin' } }),
    );
    const result = inspectOnnxModel({ bytes: model });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.model).toMatchObject({ irVersion: 8, producerName: 'pytorch', producerVersion: '2.13.0', opsets: [{ domain: '', version: 17 }] });
    expect(result.model.externalData).toEqual([
      { tensor: 'w', location: 'weights.bin', offset: 4096, length: 16 },
      { tensor: 'b', location: 'data/bias.bin' },
    ]);
  });

  it('refuses locations that are absolute, contain "..", backslashes or NUL, or escape the folder', () => {
    for (const location of ['/etc/passwd', 'C:/x.bin', 'c:x.bin', '../x.bin', 'a/../../x.bin', 'a/..', 'a\\..\\x.bin', 'a\\b.bin', 'x\u0000.bin', 'x\n.bin', '', '.', 'dir/']) {
      const result = inspectOnnxModel({ bytes: withInitializers(tensorProto({ name: 'w', external: { location } })) });
      expect(code(result), JSON.stringify(location)).toBe('onnx.external_data');
      expect(externalLocationProblem(location), JSON.stringify(location)).toBeDefined();
    }
  });

  it('finds external data in nested places: node attributes, subgraphs, sparse initializers, functions, training info', () => {
    const evil = tensorProto({ name: 'e', external: { location: '../../escape.bin' } });
    const attribute = (fieldNumber: number, payload: Buffer): Buffer => bytesField(5, message(bytesField(1, 'value'), bytesField(fieldNumber, payload)));
    const nodeWith = (attr: Buffer): Buffer => message(bytesField(4, 'Constant'), attr);
    const subgraph = graphProto({ initializers: [evil] });
    const variants: Array<[string, Buffer]> = [
      ['attribute t', modelProto({ graph: graphProto({ nodes: [nodeWith(attribute(5, evil))] }) })],
      ['attribute tensors', modelProto({ graph: graphProto({ nodes: [nodeWith(attribute(10, evil))] }) })],
      ['attribute g (If/Loop body)', modelProto({ graph: graphProto({ nodes: [nodeWith(attribute(6, subgraph))] }) })],
      ['attribute graphs', modelProto({ graph: graphProto({ nodes: [nodeWith(attribute(11, subgraph))] }) })],
      ['sparse initializer', modelProto({ graph: message(bytesField(15, bytesField(1, evil))) })],
      ['function node', message(withInitializers(), bytesField(25, bytesField(7, nodeWith(attribute(5, evil)))))],
      ['training info', message(withInitializers(), bytesField(20, bytesField(2, subgraph)))],
    ];
    for (const [where, bytes] of variants) expect(code(inspectOnnxModel({ bytes })), where).toBe('onnx.external_data');
  });

  it('refuses inconsistent external data: EXTERNAL without location, external_data without EXTERNAL, repeated keys, bad offsets', () => {
    const noLocation = message(bytesField(8, 'w'), intField(14, 1));
    expect(code(inspectOnnxModel({ bytes: withInitializers(noLocation) }))).toBe('onnx.external_data');
    const notExternal = message(bytesField(8, 'w'), bytesField(13, message(bytesField(1, 'location'), bytesField(2, 'x.bin'))));
    expect(code(inspectOnnxModel({ bytes: withInitializers(notExternal) }))).toBe('onnx.external_data');
    const entry = bytesField(13, message(bytesField(1, 'location'), bytesField(2, 'x.bin')));
    expect(code(inspectOnnxModel({ bytes: withInitializers(message(bytesField(8, 'w'), entry, entry, intField(14, 1))) }))).toBe('onnx.external_data');
    for (const offset of ['-1', '1e3', '99999999999999999', '0x10', '']) {
      expect(code(inspectOnnxModel({ bytes: withInitializers(tensorProto({ name: 'w', external: { location: 'x.bin', offset } })) })), offset).toBe('onnx.external_data');
    }
  });

  it('checks the top-level ModelProto: required fields, wire types, unknown and repeated singular fields', () => {
    const graph = bytesField(7, graphProto({}));
    const opset = bytesField(8, intField(2, 17));
    expect(code(inspectOnnxModel({ bytes: message(intField(1, 8), graph, opset) }))).toBe('ok');
    expect(code(inspectOnnxModel({ bytes: message(graph, opset) }))).toBe('onnx.not_a_model');
    expect(code(inspectOnnxModel({ bytes: message(intField(1, 8), opset) }))).toBe('onnx.not_a_model');
    expect(code(inspectOnnxModel({ bytes: message(intField(1, 8), graph) }))).toBe('onnx.not_a_model');
    expect(code(inspectOnnxModel({ bytes: message(bytesField(1, 'x'), graph, opset) }))).toBe('onnx.not_a_model');
    expect(code(inspectOnnxModel({ bytes: message(intField(1, 8), graph, graph, opset) }))).toBe('onnx.not_a_model');
    expect(code(inspectOnnxModel({ bytes: message(intField(1, 8), intField(1, 9), graph, opset) }))).toBe('onnx.not_a_model');
    expect(code(inspectOnnxModel({ bytes: message(intField(1, 8), graph, opset, intField(99, 1)) }))).toBe('onnx.not_a_model');
    expect(code(inspectOnnxModel({ bytes: message(intField(1, 8), intField(7, 1), opset) }))).toBe('onnx.not_a_model');
  });

  it('refuses malformed wire data: truncation, lengths past the message, groups, long varints, deep nesting', () => {
    const model = withInitializers(tensorProto({ name: 'w', external: { location: 'x.bin' } }));
    expect(code(inspectOnnxModel({ bytes: model.subarray(0, model.length - 3) }))).toBe('onnx.malformed');
    expect(code(inspectOnnxModel({ bytes: message(intField(1, 8), tag(7, 2), varint(2n ** 40n)) }))).toBe('onnx.malformed');
    expect(code(inspectOnnxModel({ bytes: message(intField(1, 8), tag(7, 3)) }))).toBe('onnx.malformed');
    expect(code(inspectOnnxModel({ bytes: message(tag(1, 0), Buffer.alloc(11, 0xff)) }))).toBe('onnx.malformed');
    expect(code(inspectOnnxModel({ bytes: Buffer.from([0x00, 0x01]) }))).toBe('onnx.malformed');
    let graph = graphProto({});
    for (let i = 0; i < 40; i += 1) graph = graphProto({ nodes: [message(bytesField(5, message(bytesField(1, 'body'), bytesField(6, graph))))] });
    expect(code(inspectOnnxModel({ bytes: modelProto({ graph }) }))).toBe('onnx.too_deep');
  });

  it('looksLikeOnnxModel recognises a ModelProto prefix and nothing else', () => {
    const model = withInitializers(tensorProto({ name: 'w', raw: new Uint8Array(1000) }));
    expect(looksLikeOnnxModel(model)).toBe(true);
    expect(looksLikeOnnxModel(model.subarray(0, 40))).toBe(true);
    expect(looksLikeOnnxModel(Buffer.from([0x08]))).toBe(false);
    expect(looksLikeOnnxModel(Buffer.from('{"a":1}'))).toBe(false);
    expect(looksLikeOnnxModel(message(intField(1, 8), intField(99, 1)))).toBe(false);
    expect(looksLikeOnnxModel(message(intField(1, 0), bytesField(2, 'x')))).toBe(false);
  });

  it('under mutation: never an exception, work bounded by input', () => {
    const base = withInitializers(
      tensorProto({ name: 'w', external: { location: 'weights.bin', offset: '0', length: '16' } }),
      tensorProto({ name: 'r', raw: new Uint8Array(8) }),
    );
    fc.assert(
      fc.property(fc.array(mutationArbitrary(), { minLength: 1, maxLength: 4 }), (mutations) => {
        const bytes = applyMutations(base, mutations, base);
        const meter = { steps: 0 };
        const result = inspectOnnxModel({ bytes, meter });
        expect(result.ok || /^onnx\./.test(result.reason.code)).toBe(true);
        // Every counted field has at least a one-byte tag.
        expect(meter.steps).toBeLessThanOrEqual(bytes.length);
        if (result.ok) for (const item of result.model.externalData) expect(externalLocationProblem(item.location)).toBeUndefined();
        expect(typeof looksLikeOnnxModel(bytes)).toBe('boolean');
      }),
      { seed: 42, numRuns: 1000 },
    );
  });
});

describe('resolveExternalDataPath and inspectOnnxFile', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lorasmith-onnx-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('resolves only inside the bundle folder', () => {
    expect(resolveExternalDataPath({ bundleDir: dir, location: 'data/w.bin' })).toBe(path.join(dir, 'data', 'w.bin'));
    expect(resolveExternalDataPath({ bundleDir: dir, location: '../w.bin' })).toBeUndefined();
    expect(resolveExternalDataPath({ bundleDir: dir, location: '/etc/passwd' })).toBeUndefined();
  });

  it('reads a model file within the size cap', async () => {
    const file = path.join(dir, 'model.onnx');
    await writeFile(file, withInitializers(tensorProto({ name: 'w', raw: new Uint8Array(64) })));
    expect(code(await inspectOnnxFile({ path: file }))).toBe('ok');
    expect(code(await inspectOnnxFile({ path: file, maxBytes: 10 }))).toBe('onnx.too_large');
    await expect(inspectOnnxFile({ path: path.join(dir, 'missing.onnx') })).rejects.toMatchObject({ code: 'formats.read_failed' });
  });
});

/**
 * A tiny protobuf encoder to build ONNX fixtures in tests (no binary fixtures, no protobufjs).
 */
export function varint(value: number | bigint): Buffer {
  let v = BigInt(value);
  if (v < 0n) v += 1n << 64n; // int64 two's complement, as protobuf encodes negative int64s
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}

export const tag = (field: number, wire: number): Buffer => varint(field * 8 + wire);

export const intField = (field: number, value: number | bigint): Buffer => Buffer.concat([tag(field, 0), varint(value)]);

export const bytesField = (field: number, payload: Uint8Array | string): Buffer => {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  return Buffer.concat([tag(field, 2), varint(body.length), body]);
};

export const message = (...parts: Buffer[]): Buffer => Buffer.concat(parts);

/** TensorProto with optional external data (`data_location` = EXTERNAL when `external` is given). */
export function tensorProto(params: { name: string; external?: Record<string, string>; raw?: Uint8Array }): Buffer {
  const parts = [intField(1, 2), intField(2, 1), bytesField(8, params.name)];
  if (params.raw !== undefined) parts.push(bytesField(9, params.raw));
  if (params.external !== undefined) {
    for (const [key, value] of Object.entries(params.external)) parts.push(bytesField(13, message(bytesField(1, key), bytesField(2, value))));
    parts.push(intField(14, 1));
  }
  return message(...parts);
}

export function graphProto(params: { initializers?: Buffer[]; nodes?: Buffer[] }): Buffer {
  return message(
    ...(params.nodes ?? []).map((node) => bytesField(1, node)),
    bytesField(2, 'g'),
    ...(params.initializers ?? []).map((t) => bytesField(5, t)),
  );
}

/** A ModelProto: ir_version, producer, graph, one opset, fields in number order as serializers write them. */
export function modelProto(params: { graph: Buffer; irVersion?: number; opsetVersion?: number }): Buffer {
  return message(
    intField(1, params.irVersion ?? 8),
    bytesField(2, 'pytorch'),
    bytesField(3, '2.13.0'),
    bytesField(7, params.graph),
    bytesField(8, message(bytesField(1, ''), intField(2, params.opsetVersion ?? 17))),
  );
}

import { open } from 'node:fs/promises';
import type { WorkMeter } from '../safetensors/strict-json.ts';
import { readFailed } from '../read-head.ts';
import { externalLocationProblem } from './external-location.ts';
import { ProtobufError, WIRE_LEN, WIRE_VARINT, walkFields } from './protobuf.ts';
import type { ProtoField } from './protobuf.ts';

/*
 * Field numbers from onnx.proto (checked against a generated binding of it, sonos/tract
 * onnx/src/prost/onnx.rs). Only the fields on the way to tensors are listed.
 */
const MODEL = { irVersion: 1, producerName: 2, producerVersion: 3, domain: 4, modelVersion: 5, docString: 6, graph: 7, opsetImport: 8, metadataProps: 14, trainingInfo: 20, functions: 25 } as const;
const MODEL_WIRE: ReadonlyMap<number, number> = new Map([
  [MODEL.irVersion, WIRE_VARINT],
  [MODEL.producerName, WIRE_LEN],
  [MODEL.producerVersion, WIRE_LEN],
  [MODEL.domain, WIRE_LEN],
  [MODEL.modelVersion, WIRE_VARINT],
  [MODEL.docString, WIRE_LEN],
  [MODEL.graph, WIRE_LEN],
  [MODEL.opsetImport, WIRE_LEN],
  [MODEL.metadataProps, WIRE_LEN],
  [MODEL.trainingInfo, WIRE_LEN],
  [MODEL.functions, WIRE_LEN],
]);
const SINGULAR_MODEL_FIELDS = new Set<number>([MODEL.irVersion, MODEL.producerName, MODEL.producerVersion, MODEL.domain, MODEL.modelVersion, MODEL.docString, MODEL.graph]);
const OPSET = { domain: 1, version: 2 } as const;
const GRAPH = { node: 1, initializer: 5, sparseInitializer: 15 } as const;
const NODE = { attribute: 5 } as const;
const ATTRIBUTE = { t: 5, g: 6, tensors: 10, graphs: 11, sparseTensor: 22, sparseTensors: 23 } as const;
const SPARSE = { values: 1, indices: 2 } as const;
const TRAINING = { initialization: 1, algorithm: 2 } as const;
const FUNCTION = { node: 7 } as const;
const TENSOR = { name: 8, externalData: 13, dataLocation: 14 } as const;
const ENTRY = { key: 1, value: 2 } as const;
const DATA_LOCATION_EXTERNAL = 1;

export const DEFAULT_ONNX_MAX_BYTES = 1024 ** 3;
const DEFAULT_MAX_NESTING = 64;

export interface OnnxExternalData {
  /** Name of the tensor (data, not a path). */
  tensor: string;
  /** Relative POSIX path inside the bundle folder, already checked by `externalLocationProblem`. */
  location: string;
  offset?: number;
  length?: number;
}

export interface OnnxModelInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: Array<{ domain: string; version: number }>;
  /** Every tensor whose data lives outside the .onnx file. */
  externalData: OnnxExternalData[];
}

export type OnnxRejectionCode = 'onnx.malformed' | 'onnx.not_a_model' | 'onnx.external_data' | 'onnx.too_deep' | 'onnx.too_large';

export interface OnnxRejection {
  code: OnnxRejectionCode;
  message: string;
  offset?: number;
}

export type OnnxInspection = { ok: true; model: OnnxModelInfo } | { ok: false; reason: OnnxRejection };

class Refused extends Error {
  readonly reason: OnnxRejection;
  constructor(reason: OnnxRejection) {
    super(reason.message);
    this.reason = reason;
  }
}

const refuse = (code: OnnxRejectionCode, message: string, offset?: number): never => {
  throw new Refused(offset === undefined ? { code, message } : { code, message, offset });
};

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Cheap content check for detection: does this prefix of a file read as the start of a ModelProto? The
 * first field must be `ir_version` (serializers write fields in number order), and every field that fits
 * in the prefix must be a ModelProto field of the right wire type.
 */
export function looksLikeOnnxModel(head: Uint8Array): boolean {
  if (head[0] !== ((MODEL.irVersion << 3) | WIRE_VARINT)) return false;
  let pos = 0;
  try {
    for (const field of walkFields(head, 0, head.length)) {
      if (MODEL_WIRE.get(field.field) !== field.wire) return false;
      if (field.field === MODEL.irVersion && field.value < 1) return false;
      pos = field.end;
    }
  } catch (error) {
    // A field cut by the end of the prefix is expected; any other malformation is not ONNX.
    if (!(error instanceof ProtobufError)) throw error;
    return pos > 0 && error.kind === 'truncated';
  }
  return pos > 0;
}

/**
 * Check a serialized ModelProto: known top-level fields with the right wire types, singular fields not
 * repeated (protobuf would silently merge them), `ir_version`, a graph and at least one opset present.
 * Walks every graph (main, nested in attributes, training, functions) to list the tensors stored as
 * external data and refuses any location that could leave the bundle folder.
 */
export function inspectOnnxModel(params: { bytes: Uint8Array; meter?: WorkMeter; maxNesting?: number }): OnnxInspection {
  const walker = new Walker(params.bytes, params.meter ?? { steps: 0 }, params.maxNesting ?? DEFAULT_MAX_NESTING);
  try {
    return { ok: true, model: walker.model() };
  } catch (error) {
    if (error instanceof Refused) return { ok: false, reason: error.reason };
    if (error instanceof ProtobufError) return { ok: false, reason: { code: 'onnx.malformed', message: error.message, offset: error.offset } };
    throw error;
  }
}

/** Read a .onnx file (whole: protobuf has no index) up to `maxBytes` and inspect it. */
export async function inspectOnnxFile(params: { path: string; maxBytes?: number }): Promise<OnnxInspection> {
  const maxBytes = params.maxBytes ?? DEFAULT_ONNX_MAX_BYTES;
  let bytes: Buffer;
  try {
    const handle = await open(params.path, 'r');
    try {
      const { size } = await handle.stat();
      if (size > maxBytes) {
        return { ok: false, reason: { code: 'onnx.too_large', message: `the model is ${size} bytes (limit ${maxBytes})` } };
      }
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw readFailed(params.path, error);
  }
  return inspectOnnxModel({ bytes });
}

class Walker {
  private readonly externalData: OnnxExternalData[] = [];
  private readonly bytes: Uint8Array;
  private readonly meter: WorkMeter;
  private readonly maxNesting: number;

  constructor(bytes: Uint8Array, meter: WorkMeter, maxNesting: number) {
    this.bytes = bytes;
    this.meter = meter;
    this.maxNesting = maxNesting;
  }

  private *fields(start: number, end: number, depth: number): Generator<ProtoField> {
    if (depth > this.maxNesting) refuse('onnx.too_deep', `messages nested deeper than ${this.maxNesting}`, start);
    for (const field of walkFields(this.bytes, start, end)) {
      this.meter.steps += 1;
      yield field;
    }
  }

  private text(field: ProtoField): string {
    try {
      return utf8.decode(this.bytes.subarray(field.start, field.end));
    } catch {
      return refuse('onnx.malformed', `field ${field.field} is not valid UTF-8`, field.offset);
    }
  }

  /** A known message-typed field must use the LEN wire type. */
  private isMessage(field: ProtoField, number: number): boolean {
    if (field.field !== number) return false;
    if (field.wire !== WIRE_LEN) refuse('onnx.malformed', `field ${number} has wire type ${field.wire}, expected a message`, field.offset);
    return true;
  }

  model(): OnnxModelInfo {
    const seen = new Set<number>();
    const info: OnnxModelInfo = { irVersion: 0, producerName: '', producerVersion: '', opsets: [], externalData: this.externalData };
    let hasGraph = false;
    for (const field of this.fields(0, this.bytes.length, 0)) {
      const expected = MODEL_WIRE.get(field.field);
      if (expected === undefined) refuse('onnx.not_a_model', `field ${field.field} is not a ModelProto field`, field.offset);
      if (expected !== field.wire) refuse('onnx.not_a_model', `ModelProto field ${field.field} has wire type ${field.wire}`, field.offset);
      if (SINGULAR_MODEL_FIELDS.has(field.field) && seen.has(field.field)) {
        refuse('onnx.not_a_model', `ModelProto field ${field.field} appears twice`, field.offset);
      }
      seen.add(field.field);
      switch (field.field) {
        case MODEL.irVersion:
          info.irVersion = field.value;
          break;
        case MODEL.producerName:
          info.producerName = this.text(field);
          break;
        case MODEL.producerVersion:
          info.producerVersion = this.text(field);
          break;
        case MODEL.graph:
          hasGraph = true;
          this.graph(field, 1);
          break;
        case MODEL.opsetImport:
          info.opsets.push(this.opset(field));
          break;
        case MODEL.trainingInfo:
          for (const inner of this.fields(field.start, field.end, 1)) {
            if (this.isMessage(inner, TRAINING.initialization) || this.isMessage(inner, TRAINING.algorithm)) this.graph(inner, 2);
          }
          break;
        case MODEL.functions:
          for (const inner of this.fields(field.start, field.end, 1)) {
            if (this.isMessage(inner, FUNCTION.node)) this.node(inner, 2);
          }
          break;
        default:
          break;
      }
    }
    if (info.irVersion < 1) refuse('onnx.not_a_model', 'the model has no ir_version');
    if (!hasGraph) refuse('onnx.not_a_model', 'the model has no graph');
    if (info.opsets.length === 0) refuse('onnx.not_a_model', 'the model imports no operator set');
    return info;
  }

  private opset(message: ProtoField): { domain: string; version: number } {
    const opset = { domain: '', version: 0 };
    for (const field of this.fields(message.start, message.end, 1)) {
      if (field.field === OPSET.domain && field.wire === WIRE_LEN) opset.domain = this.text(field);
      if (field.field === OPSET.version && field.wire === WIRE_VARINT) opset.version = field.value;
    }
    return opset;
  }

  private graph(message: ProtoField, depth: number): void {
    for (const field of this.fields(message.start, message.end, depth)) {
      if (this.isMessage(field, GRAPH.node)) this.node(field, depth + 1);
      else if (this.isMessage(field, GRAPH.initializer)) this.tensor(field, depth + 1);
      else if (this.isMessage(field, GRAPH.sparseInitializer)) this.sparse(field, depth + 1);
    }
  }

  private node(message: ProtoField, depth: number): void {
    for (const field of this.fields(message.start, message.end, depth)) {
      if (this.isMessage(field, NODE.attribute)) this.attribute(field, depth + 1);
    }
  }

  private attribute(message: ProtoField, depth: number): void {
    for (const field of this.fields(message.start, message.end, depth)) {
      if (this.isMessage(field, ATTRIBUTE.t) || this.isMessage(field, ATTRIBUTE.tensors)) this.tensor(field, depth + 1);
      else if (this.isMessage(field, ATTRIBUTE.g) || this.isMessage(field, ATTRIBUTE.graphs)) this.graph(field, depth + 1);
      else if (this.isMessage(field, ATTRIBUTE.sparseTensor) || this.isMessage(field, ATTRIBUTE.sparseTensors)) this.sparse(field, depth + 1);
    }
  }

  private sparse(message: ProtoField, depth: number): void {
    for (const field of this.fields(message.start, message.end, depth)) {
      if (this.isMessage(field, SPARSE.values) || this.isMessage(field, SPARSE.indices)) this.tensor(field, depth + 1);
    }
  }

  /** A TensorProto: collect `external_data` and `data_location`, then apply the location policy. */
  private tensor(message: ProtoField, depth: number): void {
    let name = '';
    let external = false;
    const entries = new Map<string, string>();
    for (const field of this.fields(message.start, message.end, depth)) {
      if (field.field === TENSOR.name && field.wire === WIRE_LEN) name = this.text(field);
      else if (field.field === TENSOR.dataLocation && field.wire === WIRE_VARINT) external = field.value === DATA_LOCATION_EXTERNAL;
      else if (this.isMessage(field, TENSOR.externalData)) {
        const [key, value] = this.entry(field, depth + 1);
        if (entries.has(key)) refuse('onnx.external_data', `tensor ${JSON.stringify(name)} repeats external_data key ${JSON.stringify(key)}`, field.offset);
        entries.set(key, value);
      }
    }
    if (!external && entries.size === 0) return;
    const label = `tensor ${JSON.stringify(name.slice(0, 64))}`;
    if (!external) refuse('onnx.external_data', `${label} has external_data but its data_location is not EXTERNAL`, message.offset);
    const location = entries.get('location');
    if (location === undefined) return refuse('onnx.external_data', `${label} is EXTERNAL but has no location`, message.offset);
    const problem = externalLocationProblem(location);
    if (problem !== undefined) refuse('onnx.external_data', `${label}: external data location ${JSON.stringify(location.slice(0, 128))} ${problem}`, message.offset);
    const item: OnnxExternalData = { tensor: name, location };
    for (const key of ['offset', 'length'] as const) {
      const text = entries.get(key);
      if (text === undefined) continue;
      if (!/^\d{1,16}$/.test(text) || Number(text) > Number.MAX_SAFE_INTEGER) {
        refuse('onnx.external_data', `${label}: external data ${key} ${JSON.stringify(text.slice(0, 32))} is not a non-negative integer`, message.offset);
      }
      item[key] = Number(text);
    }
    this.externalData.push(item);
  }

  private entry(message: ProtoField, depth: number): [string, string] {
    let key = '';
    let value = '';
    for (const field of this.fields(message.start, message.end, depth)) {
      if (field.field === ENTRY.key && field.wire === WIRE_LEN) key = this.text(field);
      if (field.field === ENTRY.value && field.wire === WIRE_LEN) value = this.text(field);
    }
    return [key, value];
  }
}

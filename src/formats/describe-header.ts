/**
 * A format-neutral view of what a validator read — tensors with dtype, shape and bytes, metadata as
 * strings, totals — for `inspect`, the library's tensor table and the fingerprint. Header only: no tensor
 * data is read.
 */
import type { GgufMetadataValue } from './gguf/index.ts';
import { TORCH_DTYPES } from './pickle/torch-dtypes.ts';
import type { ScanDetails } from './scan-file.ts';
import { selectTensors } from './torch/index.ts';

export interface HeaderTensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: number;
}

export interface ModelHeader {
  tensors: HeaderTensor[];
  metadata: Record<string, string>;
  dtypes: Record<string, { count: number; bytes: number }>;
  parameterCount: number;
}

/** Long metadata arrays (a GGUF vocabulary) are summarised: the UI shows data, not megabytes of it. */
const MAX_METADATA_VALUE = 4096;

function ggufValueText(value: GgufMetadataValue): string {
  if (value.type === 'array') {
    const items = Array.from(value.items as ArrayLike<number | bigint>).slice(0, 16).map(String);
    return `[${value.elementType} × ${value.items.length}] ${items.join(', ')}${value.items.length > 16 ? ', …' : ''}`;
  }
  return String(value.value);
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

export function describeHeader(details: ScanDetails): ModelHeader {
  let tensors: HeaderTensor[];
  const metadata: Record<string, string> = {};
  switch (details.kind) {
    case 'safetensors':
      tensors = details.header.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape], bytes: Number(t.end) - Number(t.begin) }));
      for (const [key, value] of Object.entries(details.header.metadata)) metadata[key] = value;
      break;
    case 'gguf':
      // ggml lists the innermost dimension first; show shapes the way the other formats do.
      tensors = details.header.tensors.map((t) => ({ name: t.name, dtype: t.typeName, shape: [...t.dims].reverse(), bytes: t.bytes }));
      for (const [key, value] of details.header.metadata) metadata[key] = ggufValueText(value).slice(0, MAX_METADATA_VALUE);
      break;
    case 'onnx':
      tensors = [];
      metadata['onnx.ir_version'] = String(details.model.irVersion);
      metadata['onnx.producer'] = `${details.model.producerName} ${details.model.producerVersion}`.trim();
      metadata['onnx.opsets'] = details.model.opsets.map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).join(', ');
      break;
    case 'checkpoint':
      tensors = selectTensors(details.checkpoint).tensors.map(({ name, tensor }) => ({
        name,
        dtype: TORCH_DTYPES[tensor.dtype].safetensors ?? tensor.dtype,
        shape: [...tensor.size],
        bytes: elementCount(tensor.size) * TORCH_DTYPES[tensor.dtype].elementSize,
      }));
      break;
  }
  const dtypes: ModelHeader['dtypes'] = {};
  let parameterCount = 0;
  for (const tensor of tensors) {
    const entry = (dtypes[tensor.dtype] ??= { count: 0, bytes: 0 });
    entry.count += 1;
    entry.bytes += tensor.bytes;
    parameterCount += elementCount(tensor.shape);
  }
  return { tensors, metadata, dtypes, parameterCount };
}

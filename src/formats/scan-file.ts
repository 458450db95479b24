/**
 * One entry point for "what is this file, and is it safe?" (`lorasmith scan`, imports, downloads): the
 * content decides the format (never the extension), and the format's own validator gives the verdict.
 * Pickle-family files go through the static scanner; safetensors, GGUF and ONNX through their strict
 * validators; recognisable non-model content (an image, a web page) is `unsupported` with its type.
 */
import { detectFileFormat } from './detect.ts';
import { validateGgufFile, type GgufHeader } from './gguf/index.ts';
import { externalLocationProblem, inspectOnnxFile, type OnnxModelInfo } from './onnx/index.ts';
import type { Verdict } from './pickle/types.ts';
import { validateSafetensorsFile, type SafetensorsHeader } from './safetensors/index.ts';
import { scanModelFile, type TorchCheckpoint } from './torch/index.ts';
import { readHead } from './read-head.ts';

export type { Verdict } from './pickle/types.ts';

export interface ScanFinding {
  code: string;
  message: string;
  verdict: Verdict;
  /** Byte offset (pickle opcode, header position) when known. */
  offset?: number;
  /** Archive member (a PyTorch zip's `data.pkl`). */
  member?: string;
  /** The imported global, for pickle findings. */
  global?: string;
  /** A label from the dangerous-globals table ("contains posix.system"). */
  label?: string;
}

export interface FileScan {
  path: string;
  size: number;
  /** What the content is: `safetensors`, `gguf`, `onnx`, a pickle container (`torch-zip`, `pickle`, …) or a foreign type. */
  format: string;
  verdict: Verdict;
  findings: ScanFinding[];
  warnings: Array<{ code: string; message: string }>;
  /** A safe PyTorch checkpoint that `convert` turns into safetensors. */
  convertible: boolean;
  /** Why a safe file still has nothing to convert (a raw pickle). */
  nothingToConvert?: string;
  /** What the validator read, for `inspect` (safe files only). */
  details?: ScanDetails;
}

export type ScanDetails =
  | { kind: 'safetensors'; header: SafetensorsHeader }
  | { kind: 'gguf'; header: GgufHeader }
  | { kind: 'onnx'; model: OnnxModelInfo }
  | { kind: 'checkpoint'; checkpoint: TorchCheckpoint };

/** Content that is plainly not a model: named, so the refusal says what the file is. */
const FOREIGN: Array<{ type: string; test: (head: Uint8Array) => boolean }> = [
  { type: 'a PNG image', test: (h) => h[0] === 0x89 && h[1] === 0x50 && h[2] === 0x4e && h[3] === 0x47 },
  { type: 'a JPEG image', test: (h) => h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff },
  { type: 'a GIF image', test: (h) => Buffer.from(h.subarray(0, 4)).toString('latin1') === 'GIF8' },
  { type: 'a WebP image', test: (h) => Buffer.from(h.subarray(0, 4)).toString('latin1') === 'RIFF' && Buffer.from(h.subarray(8, 12)).toString('latin1') === 'WEBP' },
  { type: 'a PDF document', test: (h) => Buffer.from(h.subarray(0, 5)).toString('latin1') === '%PDF-' },
  // `{` and `[` are no pickle opcodes: a file starting with them is JSON (or text), not a pickle.
  { type: 'a JSON document', test: (h) => /^\s*[{[]/.test(Buffer.from(h.subarray(0, 16)).toString('latin1')) },
  { type: 'an HTML or XML page', test: (h) => /^\s*<(!doctype|html|\?xml|head|body|!--)/i.test(Buffer.from(h.subarray(0, 64)).toString('latin1')) },
];

function refused(path: string, size: number, format: string, verdict: Verdict, code: string, message: string, offset?: number): FileScan {
  return { path, size, format, verdict, findings: [{ code, message, verdict, ...(offset === undefined ? {} : { offset }) }], warnings: [], convertible: false };
}

export async function scanFile(params: { path: string }): Promise<FileScan> {
  const { path } = params;
  const { format, fileSize: size } = await detectFileFormat({ path });
  switch (format) {
    case 'safetensors': {
      const result = await validateSafetensorsFile({ path });
      if (!result.ok) return refused(path, size, format, 'invalid', result.reason.code, result.reason.message, result.reason.offset);
      return { path, size, format, verdict: 'safe', findings: [], warnings: result.warnings, convertible: false, details: { kind: 'safetensors', header: result.header } };
    }
    case 'gguf': {
      const result = await validateGgufFile({ path });
      if (!result.ok) return refused(path, size, format, 'invalid', result.reason.code, result.reason.message, result.reason.offset);
      return { path, size, format, verdict: 'safe', findings: [], warnings: [], convertible: false, details: { kind: 'gguf', header: result.header } };
    }
    case 'onnx': {
      const result = await inspectOnnxFile({ path });
      if (!result.ok) return refused(path, size, format, 'invalid', result.reason.code, result.reason.message, result.reason.offset);
      const outside = result.model.externalData.map((entry) => ({ entry, problem: externalLocationProblem(entry.location) })).filter((item) => item.problem !== null);
      if (outside.length > 0) {
        const first = outside[0];
        return refused(path, size, format, 'unsafe', 'onnx.external_location', `tensor "${first?.entry.tensor}" points its data at ${JSON.stringify(first?.entry.location)}: ${first?.problem}`);
      }
      return { path, size, format, verdict: 'safe', findings: [], warnings: [], convertible: false, details: { kind: 'onnx', model: result.model } };
    }
    case 'other': {
      const head = await readHead(path, 64);
      const foreign = FOREIGN.find((candidate) => candidate.test(head));
      if (foreign !== undefined) return refused(path, size, 'other', 'unsupported', 'format.not_a_model', `the file is ${foreign.type}, not a model`);
      break;
    }
    default:
      break;
  }
  // Everything else may be a pickle container (protocol 0 has no magic): the static scanner decides.
  const scan = await scanModelFile({ path });
  return {
    path,
    size,
    format: scan.format,
    verdict: scan.verdict,
    findings: scan.findings.map((finding) => ({
      code: finding.code,
      message: finding.message,
      verdict: finding.verdict,
      ...(finding.offset === undefined ? {} : { offset: finding.offset }),
      ...(finding.member === undefined ? {} : { member: finding.member }),
      ...(finding.global === undefined ? {} : { global: finding.global }),
      ...(finding.label === undefined ? {} : { label: finding.label }),
    })),
    warnings: scan.warnings.map((warning) => ({ code: warning.code, message: warning.message })),
    convertible: scan.verdict === 'safe' && scan.checkpoint !== undefined,
    ...(scan.nothingToConvert === undefined ? {} : { nothingToConvert: scan.nothingToConvert }),
    ...(scan.verdict === 'safe' && scan.checkpoint !== undefined ? { details: { kind: 'checkpoint' as const, checkpoint: scan.checkpoint } } : {}),
  };
}

import { realpath } from 'node:fs/promises';
import { describeHeader } from '../../formats/describe-header.ts';
import { detectFamilyAndKind, hashModelFile } from '../../formats/fingerprint/index.ts';
import { scanFile } from '../../formats/scan-file.ts';
import { loraSummary } from '../../library/model-record.ts';
import { refusalError } from '../../library/import-model.ts';
import { usageError, writeJson, writeLine } from '../io.ts';
import { withLocalStudio } from '../local-studio.ts';
import { flag, parseVerbArgs, type Verb } from '../verb.ts';

const HUMAN_TENSORS = 25;
const HUMAN_METADATA_VALUE = 160;

export const inspectVerb: Verb = {
  name: 'inspect',
  help: `lorasmith inspect FILE [--hash] [--json]

Reads the header only (no tensor data): format, validity, tensors with dtype and shape, parameter count,
family (SD1.x, SDXL, FLUX.1, …), kind (checkpoint, LoRA, …), LoRA rank and alpha, metadata. Hashes come
from the library record when FILE is in the library, or are computed with --hash (reads the whole file).
A pickle-based file is scanned first; if it is not safe, inspect stops with the scan's reason (exit 1).

--json: {"path","format","verdict","warnings","size","tensorCount","parameterCount","dtypes","family","kind",
"variant","predictionType","lora","evidence","metadata","tensors":[{"name","dtype","shape","bytes"}],"hashes"|null}`,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('inspect', args, { hash: { type: 'boolean', default: false } });
    const [file, ...rest] = positionals;
    if (file === undefined || rest.length > 0) throw usageError('`inspect` takes exactly one FILE.', 'Example: lorasmith inspect model.safetensors');
    const json = flag(values, 'json');
    const scan = await scanFile({ path: file });
    if (scan.verdict !== 'safe' || scan.details === undefined) throw refusalError(file, scan);
    const header = describeHeader(scan.details);
    const fingerprint = detectFamilyAndKind({ tensors: header.tensors, metadata: header.metadata });
    const record = await withLocalStudio(io.env, async (studio) => studio.library.findByPath(await realpath(file)));
    const hashes = record?.hashes ?? (flag(values, 'hash') ? await hashModelFile({ path: file }) : null);
    const report = {
      path: file,
      format: scan.format,
      verdict: scan.verdict,
      warnings: scan.warnings.map((warning) => warning.message),
      size: scan.size,
      tensorCount: header.tensors.length,
      parameterCount: header.parameterCount,
      dtypes: header.dtypes,
      family: fingerprint.family,
      kind: fingerprint.kind,
      variant: fingerprint.variant,
      predictionType: fingerprint.predictionType,
      lora: loraSummary(fingerprint.lora),
      evidence: fingerprint.evidence,
      metadata: header.metadata,
      tensors: header.tensors,
      hashes: hashes === null ? null : { sha256: hashes.sha256, autoV2: hashes.autoV2, autoV1: hashes.autoV1, sshsModelHash: hashes.sshsModelHash },
    };
    if (json) {
      writeJson(io, report);
      return 0;
    }
    writeLine(io, `${file}`);
    writeLine(io, `  format      ${report.format} — ${report.verdict}${report.warnings.length ? ` (${report.warnings.length} warnings)` : ''}`);
    for (const warning of report.warnings) writeLine(io, `  warning     ${warning}`);
    writeLine(io, `  model       ${report.kind}, family ${report.family}${report.variant ? ` (${report.variant})` : ''}, prediction ${report.predictionType}`);
    if (report.lora) writeLine(io, `  lora        ${report.lora.algorithm} (${report.lora.naming}), rank ${report.lora.rank ?? 'varies'}, alpha ${report.lora.alpha ?? 'unknown'}`);
    writeLine(io, `  tensors     ${report.tensorCount}, ${report.parameterCount.toLocaleString('en')} parameters`);
    writeLine(io, `  dtypes      ${Object.entries(report.dtypes).map(([dtype, d]) => `${dtype} ×${d.count}`).join(', ') || '—'}`);
    if (report.hashes) writeLine(io, `  sha256      ${report.hashes.sha256}\n  autov2      ${report.hashes.autoV2}${report.hashes.sshsModelHash ? `\n  sshs hash   ${report.hashes.sshsModelHash}` : ''}`);
    else writeLine(io, '  hashes      (not in the library; add --hash to compute them)');
    const metadata = Object.entries(report.metadata);
    if (metadata.length > 0) writeLine(io, '  metadata');
    for (const [key, value] of metadata) {
      const shown = value.length > HUMAN_METADATA_VALUE ? `${value.slice(0, HUMAN_METADATA_VALUE)}… (${value.length} chars)` : value;
      writeLine(io, `    ${key} = ${JSON.stringify(shown)}`);
    }
    writeLine(io, '  tensors');
    for (const tensor of report.tensors.slice(0, HUMAN_TENSORS)) writeLine(io, `    ${tensor.name}  ${tensor.dtype} [${tensor.shape.join(', ')}]`);
    if (report.tensors.length > HUMAN_TENSORS) writeLine(io, `    … ${report.tensors.length - HUMAN_TENSORS} more (--json lists all)`);
    return 0;
  },
};

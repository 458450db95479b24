import { access } from 'node:fs/promises';
import { LorasmithError } from '../../core/errors.ts';
import { scanFile } from '../../formats/scan-file.ts';
import { convertToSafetensors } from '../../formats/torch/index.ts';
import { refusalError } from '../../library/import-model.ts';
import { usageError, writeJson, writeLine } from '../io.ts';
import { flag, parseVerbArgs, type Verb } from '../verb.ts';

export const convertVerb: Verb = {
  name: 'convert',
  help: `lorasmith convert IN OUT.safetensors [--force] [--json]

Scans IN statically; only a safe PyTorch checkpoint (zip or legacy format) is converted, by lorasmith's
own reader, which imports and calls nothing. Every tensor is copied bit for bit; the output is validated,
written to a temporary file and renamed into place. A file that is not safe is refused (exit 1).

--json: {"input","output","tensorCount","fileSize","warnings":[…],"dropped":[…]}`,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('convert', args, { force: { type: 'boolean', default: false } });
    const [input, output, ...rest] = positionals;
    if (input === undefined || output === undefined || rest.length > 0) throw usageError('`convert` takes IN and OUT.safetensors.', 'Example: lorasmith convert model.ckpt model.safetensors');
    if (!output.endsWith('.safetensors')) throw usageError('The output name must end in .safetensors.', `Example: lorasmith convert ${input} model.safetensors`);
    if (!flag(values, 'force') && (await access(output).then(() => true, () => false))) {
      throw new LorasmithError({ code: 'exists', message: `${output} already exists.`, hint: 'Pick another name, or add --force to replace it.', exitCode: 2 });
    }
    const scan = await scanFile({ path: input });
    if (scan.verdict !== 'safe') throw refusalError(input, scan);
    if (!scan.convertible) {
      throw new LorasmithError({
        code: 'nothing-to-convert',
        message: `${input} is ${scan.format === 'safetensors' ? 'already safetensors' : `safe, but ${scan.nothingToConvert ?? `a ${scan.format} file has no tensors to convert`}`}.`,
        hint: 'convert takes PyTorch checkpoints (.ckpt, .pt, .pth, .bin).',
        exitCode: 1,
      });
    }
    const result = await convertToSafetensors({ inputPath: input, outputPath: output, metadata: { 'lorasmith.converted_from': scan.format } });
    const warnings = result.warnings.map((warning) => warning.message);
    if (flag(values, 'json')) writeJson(io, { input, output: result.path, tensorCount: result.tensorCount, fileSize: result.fileSize, warnings, dropped: result.dropped });
    else {
      writeLine(io, `Converted ${input} → ${result.path}: ${result.tensorCount} tensors, ${result.fileSize} bytes.`);
      for (const warning of warnings) writeLine(io, `warning: ${warning}`);
      if (result.dropped.length > 0) writeLine(io, `Left out (not part of the state dict): ${result.dropped.slice(0, 10).join(', ')}${result.dropped.length > 10 ? ', …' : ''}`);
    }
    return 0;
  },
};

/** `lorasmith train --from <format>`: pick the importer by flag or by detection. */
import type { RunFamily } from '../schema/index.ts';
import { detectConfigFormat } from './detect.ts';
import { importKohyaGuiJson } from './kohya-gui-json.ts';
import { importKohyaToml } from './kohya-toml.ts';
import { importKtiseosPreset } from './ktiseos.ts';
import { importLetToml } from './let-toml.ts';
import { IMPORT_FORMATS, type ImportFormat, type ImportResult } from './types.ts';

export interface ImportConfigInput {
  text: string;
  fileName: string;
  /** The `--from` flag; detected when absent. */
  from?: ImportFormat;
  /** The family for a plain sd-scripts TOML, which does not name its trainer. */
  family?: RunFamily;
}

export function isImportFormat(value: string): value is ImportFormat {
  return (IMPORT_FORMATS as readonly string[]).includes(value);
}

export function importConfig(input: ImportConfigInput): ImportResult {
  const format = input.from ?? detectConfigFormat(input.text, input.fileName);
  if (format === 'lorasmith') {
    return {
      ok: false,
      format: null,
      error: { code: 'already-lorasmith', message: `${input.fileName} is already a lorasmith run config; pass it to \`lorasmith train\` without --from.` },
      operatorPaths: [],
      unmapped: [],
      notes: [],
    };
  }
  if (format === null) {
    return {
      ok: false,
      format: null,
      error: {
        code: 'format-unknown',
        message: `Could not tell which tool wrote ${input.fileName}. Pass --from with one of ${IMPORT_FORMATS.join(', ')} (kohya: an sd-scripts config TOML; kohya-gui: a kohya_ss GUI JSON; let: a LoRA Easy Training Scripts TOML; ktiseos: a Ktiseos-Nyx preset).`,
      },
      operatorPaths: [],
      unmapped: [],
      notes: [],
    };
  }
  switch (format) {
    case 'kohya':
      return importKohyaToml(input.text, { family: input.family });
    case 'kohya-gui':
      return importKohyaGuiJson(input.text);
    case 'let':
      return importLetToml(input.text);
    case 'ktiseos':
      return importKtiseosPreset(input.text);
  }
}

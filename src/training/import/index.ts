/** Importing other tools' training configs (tagging-and-config-import.md Part B) and exporting to sd-scripts. */
export { detectConfigFormat } from './detect.ts';
export { exportKohyaToml, type ExportKohyaTomlOptions } from './export-kohya-toml.ts';
export { importConfig, isImportFormat, type ImportConfigInput } from './import-config.ts';
export { importKohyaGuiJson } from './kohya-gui-json.ts';
export { importKohyaToml, type KohyaTomlOptions } from './kohya-toml.ts';
export { importKtiseosPreset, splitKtiseosOptimizerArgs } from './ktiseos.ts';
export { importLetToml } from './let-toml.ts';
export { convertOperatorInputs, prepareOperatorInputs, type OperatorInput, type OperatorInputUse, type OperatorRun, type PrepareOperatorInputsParams } from './operator-inputs.ts';
export { substituteOperatorPaths, type OperatorChoice } from './substitute.ts';
export {
  IMPORT_FORMATS,
  type DetectedFormat,
  type ImportErrorCode,
  type ImportFailure,
  type ImportFormat,
  type ImportResult,
  type ImportSuccess,
  type MissingInput,
  type OperatorPath,
  type OperatorPathRole,
  type UnmappedKey,
} from './types.ts';

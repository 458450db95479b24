/** Run validation: shape, cross-field rules with severities and fix hints, and library/dataset checks. */
export { FAMILY_OPTIONS, type FamilyOption } from './check-kohya-family.ts';
export type { ResolvedDataset, ResolvedModel, RunResolver, Severity, ValidationIssue, ValidationReport } from './types.ts';
export { checkRunRules, validateRun, type ValidateRunParams } from './validate-run.ts';

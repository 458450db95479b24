import { createContext, useContext } from 'react';
import type { ModelRecord } from '../../types.ts';
import type { DatasetSummary } from '../datasets/types.ts';
import type { DeadField, Json, JsonObject, Path, RunIssue } from './types.ts';

export interface FormContextValue {
  /** The whole run config, for fields that depend on another (a subset picker on its dataset). */
  config: JsonObject;
  set: (path: Path, value: Json) => void;
  /** Issues by their exact path. */
  issues: Map<string, RunIssue[]>;
  /** Number of issues at or under each path (for collapsed sections). */
  issueCounts: Map<string, number>;
  models: ModelRecord[] | undefined;
  datasets: DatasetSummary[] | undefined;
  deadFields: DeadField[];
}

export const FormContext = createContext<FormContextValue | null>(null);

export function useForm(): FormContextValue {
  const value = useContext(FormContext);
  if (!value) throw new Error('A form field was rendered outside the run form.');
  return value;
}

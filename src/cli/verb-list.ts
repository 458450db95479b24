/**
 * Every verb with its one-line summary (`lorasmith --help`). A verb's module, and everything it imports (the
 * studio, sharp, onnxruntime, the hub client), loads only when that verb runs: `lorasmith --version` or a
 * verb that talks to a running studio does not pay for the rest.
 */
import type { Verb } from './verb.ts';

export interface VerbEntry {
  name: string;
  summary: string;
  load(): Promise<Verb>;
}

export const VERBS: readonly VerbEntry[] = [
  { name: 'serve', summary: 'start the studio (web UI + API) on 127.0.0.1 and print a pairing URL', load: async () => (await import('./verbs/serve.ts')).serveVerb },
  { name: 'pair', summary: 'print a fresh one-time pairing URL from the running studio', load: async () => (await import('./verbs/pair.ts')).pairVerb },
  { name: 'scan', summary: 'scan model files (or folders) without running them: safe | unsafe | invalid | unsupported', load: async () => (await import('./verbs/scan.ts')).scanVerb },
  { name: 'inspect', summary: 'describe a model file from its header: format, tensors, dtypes, family, kind, metadata', load: async () => (await import('./verbs/inspect.ts')).inspectVerb },
  { name: 'convert', summary: 'turn a pickle / PyTorch checkpoint into safetensors without running any of its code', load: async () => (await import('./verbs/convert.ts')).convertVerb },
  { name: 'models', summary: 'the model library (list | show ID | import PATH | identify FILE|ID | rm ID)', load: async () => (await import('./verbs/models.ts')).modelsVerb },
  { name: 'pull', summary: 'download, verify and scan a model into the library (hf:…, civitai:…, https URL)', load: async () => (await import('./verbs/pull.ts')).pullVerb },
  { name: 'search', summary: 'find models on Hugging Face or Civitai', load: async () => (await import('./verbs/search.ts')).searchVerb },
  { name: 'dataset', summary: 'datasets (create | import | list | show | rename | rm | caption | bulk | undo | tag | tags | lint | steps)', load: async () => (await import('./verbs/dataset.ts')).datasetVerb },
  { name: 'train', summary: 'queue and follow a run from a config (lorasmith’s or another tool’s), or show its launch and plan, or export it for sd-scripts', load: async () => (await import('./verbs/train.ts')).trainVerb },
  { name: 'jobs', summary: 'training runs: list, show, logs [-f], stop, resume, cancel, move, promote', load: async () => (await import('./verbs/jobs.ts')).jobsVerb },
  { name: 'engine', summary: 'detect, install or locate the training engines (kohya sd-scripts, FluxFlow)', load: async () => (await import('./verbs/engine.ts')).engineVerb },
  { name: 'token', summary: 'manage the API secret and named bearer tokens (rotate | create NAME | list | rm NAME)', load: async () => (await import('./verbs/token.ts')).tokenVerb },
  { name: 'login', summary: 'save a Hugging Face or Civitai token (read from stdin or typed, never from argv)', load: async () => (await import('./verbs/login.ts')).loginVerb },
  { name: 'doctor', summary: 'check Node, workspace permissions, disk, GPUs, python3, bubblewrap and the engines', load: async () => (await import('./verbs/doctor.ts')).doctorVerb },
  { name: 'tasks', summary: 'list, show, follow or cancel tasks (list | show ID | follow ID | cancel ID)', load: async () => (await import('./verbs/tasks.ts')).tasksVerb },
  { name: 'selftest', summary: 'run the self-test task (exercises tasks, progress, SSE and cancel)', load: async () => (await import('./verbs/selftest.ts')).selftestVerb },
];

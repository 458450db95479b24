export interface EmptyPageSpec {
  id: string;
  title: string;
  line: string;
  cli: string;
}

export const EMPTY_PAGES: Record<string, EmptyPageSpec> = {
  '/generate': {
    id: 'generate',
    title: 'Generate',
    line: 'Generate: arriving with image generation.',
    cli: 'lorasmith generate',
  },
  '/tools': {
    id: 'tools',
    title: 'Tools',
    line: 'Tools: arriving with the LoRA tools (inspect, resize, merge, convert).',
    cli: 'lorasmith lora info|resize|merge|convert|meta',
  },
};

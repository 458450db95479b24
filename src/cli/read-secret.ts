import { LorasmithError } from '../core/errors.ts';
import type { CliIO } from './io.ts';

/**
 * Read a secret from stdin: piped input as is, or typed at a TTY without echo. Never from argv, where
 * other users could read it in the process list and shells keep it in history.
 */
export async function readSecret(io: CliIO, prompt: string): Promise<string> {
  const { stdin } = io;
  if (stdin.isTTY && stdin.setRawMode) {
    io.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    return new Promise((resolve, reject) => {
      let value = '';
      const onData = (chunk: Buffer) => {
        for (const char of chunk.toString('utf8')) {
          if (char === '\r' || char === '\n') return done(null);
          if (char === '\u0003') return done(new LorasmithError({ code: 'cancelled', message: 'Cancelled.', exitCode: 2 }));
          if (char === '\u007f') value = value.slice(0, -1);
          else value += char;
        }
      };
      const done = (error: LorasmithError | null) => {
        stdin.off('data', onData);
        stdin.setRawMode?.(false);
        stdin.pause();
        io.stderr.write('\n');
        if (error) reject(error);
        else resolve(value.trim());
      };
      stdin.on('data', onData);
    });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8').trim();
}

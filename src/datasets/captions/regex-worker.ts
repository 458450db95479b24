/**
 * Worker thread for replaceWithRegex: runs a user's regular expression away from the studio's event loop,
 * so a pattern that backtracks for minutes only costs this thread, which the caller terminates.
 */
import { parentPort, workerData } from 'node:worker_threads';

export interface RegexJob {
  pattern: string;
  flags: string;
  replacement: string;
  inputs: string[];
}

export type RegexReply = { outputs: string[] } | { error: string };

const job = workerData as RegexJob;
let reply: RegexReply;
try {
  const expression = new RegExp(job.pattern, job.flags);
  reply = { outputs: job.inputs.map((input) => input.replace(expression, job.replacement)) };
} catch (error) {
  reply = { error: error instanceof Error ? error.message : String(error) };
}
parentPort?.postMessage(reply);

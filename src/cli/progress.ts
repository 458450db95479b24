/**
 * Progress for long work: a redrawn bar on a TTY, a line now and then when piped, JSON Lines with
 * `--json` (`{"type":"progress",…}`), so scripts and people both follow along.
 */
import type { CliIO } from './io.ts';

export interface ProgressUpdate {
  done: number;
  total: number | null;
  message: string | null;
}

export interface ProgressReporter {
  update(update: ProgressUpdate): void;
  /** Ends the bar's line (TTY) so following output starts clean. */
  finish(): void;
}

const BAR_WIDTH = 28;

export function formatBar(update: ProgressUpdate, label: string): string {
  const { done, total, message } = update;
  if (total === null || total <= 0) return `${label} ${done}${message ? `  ${message}` : ''}`;
  const ratio = Math.min(1, Math.max(0, done / total));
  const filled = Math.round(ratio * BAR_WIDTH);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
  return `${label} ${bar} ${String(Math.floor(ratio * 100)).padStart(3)}% ${done}/${total}${message ? `  ${message}` : ''}`;
}

export function createProgress(params: { io: CliIO; json: boolean; label: string }): ProgressReporter {
  const { io, json, label } = params;
  const tty = io.stdout.isTTY === true && !json;
  let lastPrintedDecile = -1;
  let drew = false;
  return {
    update(update) {
      if (json) {
        io.stdout.write(`${JSON.stringify({ type: 'progress', ...update })}\n`);
        return;
      }
      if (tty) {
        const columns = io.stdout.columns ?? 100;
        io.stdout.write(`\r\x1b[2K${formatBar(update, label).slice(0, columns - 1)}`);
        drew = true;
        return;
      }
      // Piped: one line per tenth, so logs stay short.
      const decile = update.total ? Math.floor((update.done / update.total) * 10) : update.done;
      if (decile !== lastPrintedDecile) {
        lastPrintedDecile = decile;
        io.stdout.write(`${formatBar(update, label)}\n`);
      }
    },
    finish() {
      if (tty && drew) io.stdout.write('\n');
    },
  };
}

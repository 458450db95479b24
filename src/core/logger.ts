/**
 * pino with redaction on every line (LOG-R02): known header and field paths are censored by pino, and a
 * final pass runs every string of the record through the redactor, so a token pasted into a message or a
 * signed URL in an error is caught too.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { redactDeep, redactString } from './redact.ts';

export type { Logger } from 'pino';

export interface CreateLoggerParams {
  level?: string;
  /** Where lines go; default stderr, so `--json` output on stdout stays clean. */
  destination?: DestinationStream;
}

export function createLogger(params: CreateLoggerParams = {}): Logger {
  return pino(
    {
      level: params.level ?? process.env.LORASMITH_LOG_LEVEL ?? 'info',
      base: undefined,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["x-lorasmith-upload"]',
          'res.headers["set-cookie"]',
          'headers.authorization',
          'headers.cookie',
          '*.token',
          '*.secret',
          '*.apiKey',
          'env.HF_TOKEN',
          'env.CIVITAI_TOKEN',
        ],
        censor: '[REDACTED]',
      },
      formatters: {
        log: (record) => redactDeep(record) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? redactString(arg) : arg)) as Parameters<typeof method>);
        },
      },
      serializers: {
        err: (error: unknown) => redactDeep(pino.stdSerializers.err(error as Error)),
      },
    },
    params.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}

/**
 * Every error leaves as `{ "error": { code, message, hint } }` (DESIGN.md §7's shape). Messages pass the
 * redactor; an unexpected error is logged and answered with a generic message that leaks no internals.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isLorasmithError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { redactString } from '../core/redact.ts';

const FASTIFY_CODES: Record<string, { status: number; code: string; message: string; hint: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'content-type-refused', message: 'This content type is not accepted.', hint: 'Send JSON with Content-Type: application/json.' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body-too-large', message: 'The request body is too large.', hint: 'Send less data per request.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid-request', message: 'The Content-Length does not match the body.', hint: 'Send the body again.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid-request', message: 'The JSON body is empty.', hint: 'Send a JSON object, e.g. {}.' },
};

export function createErrorHandler(log: Logger) {
  return function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    if (isLorasmithError(error)) {
      return reply.code(error.status).send({ error: { ...error.toJSON(), message: redactString(error.message) } });
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = error.validation.map((issue) => `${issue.instancePath || '(body)'} ${issue.message}`).slice(0, 5);
      return reply.code(400).send({
        error: {
          code: 'invalid-request',
          message: `The request is invalid: ${redactString(issues.join('; '))}.`,
          hint: 'See /api/openapi.json for the expected shape.',
        },
      });
    }
    const known = error.code === undefined ? undefined : FASTIFY_CODES[error.code];
    if (known !== undefined) return reply.code(known.status).send({ error: { code: known.code, message: known.message, hint: known.hint } });
    if (error instanceof SyntaxError || (error.statusCode === 400 && error.code === 'FST_ERR_CTP_INVALID_JSON_BODY')) {
      return reply.code(400).send({
        error: { code: 'invalid-request', message: 'The request body is not acceptable JSON.', hint: 'Send a plain JSON object without __proto__ or constructor keys.' },
      });
    }
    // Plugins (static files, rate limits) signal refusals with a 4xx status: keep the status, not their text.
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      const status = error.statusCode;
      return reply.code(status).send({
        error: { code: status === 404 ? 'not-found' : status === 403 ? 'forbidden' : 'invalid-request', message: `The request was refused (${status}).`, hint: 'Check the address and try again.' },
      });
    }
    log.error({ err: error, method: request.method, route: request.routeOptions.url }, 'request failed');
    return reply.code(500).send({
      error: { code: 'internal', message: 'The studio hit an unexpected error.', hint: 'See the studio log; if it persists, report it.' },
    });
  };
}

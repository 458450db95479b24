import type { FastifyInstance, FastifyBaseLogger, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Studio } from '../studio/studio.ts';
import type { AuthFailureRecorder } from './auth-backoff.ts';
import type { StudioOrigins } from './origins.ts';

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

/** What routes need: the studio's domain services and the facts of this server instance. */
export interface RouteContext {
  studio: Studio;
  origins: StudioOrigins;
  cookieName: string;
  tls: boolean;
  exposed: boolean;
  startedAt: string;
  recordAuthFailure: AuthFailureRecorder;
}

/** The chunked, resumable browser upload protocol (DESIGN.md §5, WEB-R04). */
import type { Readable } from 'node:stream';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseContentRange, uploadCreateSchema, UPLOAD_KINDS } from '../../uploads/upload-service.ts';
import type { App, RouteContext } from '../context.ts';
import { ownerKey, requireAuth } from '../request-auth.ts';
import { optionalEmptyBody, idParams } from '../schemas.ts';

const tags = ['uploads'];
const uploadStatus = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(UPLOAD_KINDS),
  size: z.number(),
  received: z.number(),
  state: z.enum(['receiving', 'completed', 'failed']),
  result: z.unknown(),
});

export function uploadRoutes(app: App, ctx: RouteContext): void {
  const { uploads } = ctx.studio;

  app.post('/api/uploads', { schema: { tags, body: uploadCreateSchema, response: { 200: z.object({ id: z.string(), chunkBytes: z.number() }) } } }, async (request) =>
    uploads.create(ownerKey(requireAuth(request.auth)), request.body),
  );

  app.get('/api/uploads/:id', { schema: { tags, params: idParams, response: { 200: uploadStatus } } }, async (request) =>
    uploads.status(ownerKey(requireAuth(request.auth)), request.params.id),
  );

  // The one route that takes a raw body: the parser hands the stream through, the service counts bytes.
  app.register(async (plain) => {
    const scope = plain.withTypeProvider<ZodTypeProvider>();
    scope.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
    scope.put('/api/uploads/:id', { schema: { tags, params: idParams, response: { 200: uploadStatus } } }, async (request) => {
      const range = parseContentRange(request.headers['content-range']);
      return uploads.append(ownerKey(requireAuth(request.auth)), request.params.id, range, request.body as Readable);
    });
  });

  app.post('/api/uploads/:id/complete', { schema: { tags, params: idParams, body: optionalEmptyBody, response: { 200: uploadStatus } } }, async (request) =>
    uploads.complete(ownerKey(requireAuth(request.auth)), request.params.id),
  );
}

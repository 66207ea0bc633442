import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import { createApiKey, presentKey, revokeApiKey } from '../usecases/api-keys.js'
import type { AppContext } from './context.js'
import { ApiKeyView, CreateKeyBody, IdParams } from './schemas.js'

export function keyRoutes(
  app: FastifyInstance,
  ctx: Pick<AppContext, 'store' | 'now' | 'auth'>,
): void {
  app.post<{ Body: CreateKeyBody }>(
    '/keys',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Create an API key (the secret is returned once)',
        tags: ['keys'],
        body: Type.Ref(CreateKeyBody),
        response: {
          201: Type.Ref(ApiKeyView, {
            description: 'The new key, with its secret `key` shown once',
          }),
        },
      },
    },
    async (req, reply) => {
      const row = await createApiKey(
        { ...ctx, actor: req.apiKeyId },
        req.body.name,
        req.body.scopes,
      )
      return reply.code(201).send({ ...presentKey(row.row), key: row.key })
    },
  )

  app.get(
    '/keys',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'List API keys (never their secrets)',
        tags: ['keys'],
        response: {
          200: Type.Object(
            { data: Type.Array(Type.Ref(ApiKeyView)) },
            { description: 'Every key, oldest first, revoked ones included' },
          ),
        },
      },
    },
    async () => ({ data: (await ctx.store.listKeys()).map(presentKey) }),
  )

  app.post<{ Params: IdParams }>(
    '/keys/:id/revoke',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Revoke an API key',
        tags: ['keys'],
        params: IdParams,
        response: {
          200: Type.Ref(ApiKeyView, {
            description: 'The key, now revoked (revoking twice is harmless)',
          }),
        },
      },
    },
    async (req) => {
      const revoked = await revokeApiKey({ ...ctx, actor: req.apiKeyId }, req.params.id)
      const row = await ctx.store.getKey(req.params.id)
      if (!row) throw new AppError(errors.not_found)
      if (revoked) ctx.auth.forget()
      return presentKey(row)
    },
  )
}

import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import { generateApiKey } from '../domain/keys/api-keys.js'
import { iso } from '../domain/messages/present.js'
import type { ApiKeyRow } from '../store/schema.js'
import type { AppContext } from './app.js'
import { ApiKeyView, CreateKeyBody, IdParams } from './schemas.js'

const ErrorRef = Type.Ref('Error')

export const presentKey = (k: ApiKeyRow) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: JSON.parse(k.scopes) as string[],
  createdAt: new Date(k.created_at).toISOString(),
  lastUsedAt: iso(k.last_used_at),
  revokedAt: iso(k.revoked_at),
})

export function keyRoutes(app: FastifyInstance, ctx: AppContext): void {
  const errs = { 401: ErrorRef, 403: ErrorRef, 422: ErrorRef }

  app.post<{ Body: CreateKeyBody }>(
    '/keys',
    {
      schema: {
        summary: 'Create an API key (the secret is returned once)',
        tags: ['keys'],
        body: CreateKeyBody,
        response: { 201: ApiKeyView, ...errs },
      },
    },
    async (req, reply) => {
      await ctx.auth.authenticate(req, 'admin')
      const row = await createKey(ctx, req.body.name, req.body.scopes)
      return reply.code(201).send({ ...presentKey(row.row), key: row.key })
    },
  )

  app.get(
    '/keys',
    {
      schema: {
        summary: 'List API keys (never their secrets)',
        tags: ['keys'],
        response: { 200: Type.Object({ data: Type.Array(ApiKeyView) }), ...errs },
      },
    },
    async (req) => {
      await ctx.auth.authenticate(req, 'admin')
      return { data: (await ctx.store.listKeys()).map(presentKey) }
    },
  )

  app.post<{ Params: IdParams }>(
    '/keys/:id/revoke',
    {
      schema: {
        summary: 'Revoke an API key',
        tags: ['keys'],
        params: IdParams,
        response: { 200: ApiKeyView, 404: ErrorRef, ...errs },
      },
    },
    async (req) => {
      await ctx.auth.authenticate(req, 'admin')
      const revoked = await ctx.store.revokeKey(req.params.id, ctx.now())
      const row = await ctx.store.getKey(req.params.id)
      if (!row) throw new AppError(errors.not_found)
      if (revoked) ctx.auth.forget()
      return presentKey(row)
    },
  )
}

/** Creates a key and stores only its hash; used by the API, the CLI and first start. */
export async function createKey(
  ctx: Pick<AppContext, 'store' | 'now'>,
  name: string,
  scopes: readonly string[],
): Promise<{ key: string; row: ApiKeyRow }> {
  const k = generateApiKey()
  const row: ApiKeyRow = {
    id: k.id,
    name,
    prefix: k.prefix,
    key_hash: k.hash,
    scopes: JSON.stringify(scopes),
    created_at: ctx.now(),
    last_used_at: null,
    revoked_at: null,
  }
  await ctx.store.insertKey(row)
  return { key: k.key, row }
}

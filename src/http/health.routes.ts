import type { FastifyInstance } from 'fastify'
import type { AppContext } from './context.js'

export function healthRoutes(
  app: FastifyInstance,
  ctx: Pick<AppContext, 'store' | 'isShuttingDown'>,
): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }))
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    if (ctx.isShuttingDown()) return reply.code(503).send({ status: 'shutting_down' })
    try {
      await ctx.store.getSetting('schema')
      return { status: 'ready', database: ctx.store.dialect }
    } catch {
      return reply.code(503).send({ status: 'database_unavailable' })
    }
  })
}

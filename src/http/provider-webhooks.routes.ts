import type { FastifyInstance } from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import type { AppContext } from './context.js'

/**
 * Provider callbacks under `/webhooks/<provider-instance>/...`: the raw body is kept for
 * signature checks, events are stored before the answer, so a 2xx means nothing is lost.
 */
export async function providerWebhookRoutes(
  app: FastifyInstance,
  ctx: Pick<AppContext, 'providers' | 'config' | 'reports'>,
): Promise<void> {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))

  app.post<{ Params: { provider: string; '*': string } }>(
    '/:provider/*',
    { schema: { hide: true } },
    async (req, reply) => {
      const provider = ctx.providers.get(req.params.provider)
      if (!provider?.verifyWebhook || !provider.parseWebhook) throw new AppError(errors.not_found)
      const webhook = {
        url: `${ctx.config.publicUrl}${req.url}`,
        method: req.method,
        headers: req.headers,
        rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      }
      if (!provider.verifyWebhook(webhook)) throw new AppError(errors.invalid_signature)
      let events
      try {
        events = provider.parseWebhook(webhook)
      } catch {
        throw new AppError(errors.invalid_request, { reason: 'unparseable provider webhook' })
      }
      await ctx.reports.ingest(provider.name, events)
      return reply.code(204).send()
    },
  )
}

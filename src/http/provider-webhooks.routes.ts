import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import { MalformedWebhook, type WebhookRequest } from '../providers/provider.js'
import type { AppContext } from './context.js'

type WebhookParams = { provider: string; kind: string }

/**
 * Provider callbacks at `/webhooks/{instance}/{kind}` (`status`, `inbound`), by GET or POST as
 * the provider sends them. The raw body and the exact public URL are kept for signature
 * checks; a callback that does not verify is `403 invalid_signature` and changes nothing.
 * Events are stored before the answer, so a 2xx means nothing is lost; the answer is what the
 * provider expects (empty TwiML for Twilio inbound), else 204.
 */
export async function providerWebhookRoutes(
  app: FastifyInstance,
  ctx: Pick<AppContext, 'providers' | 'config' | 'reports'>,
): Promise<void> {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))

  const handle = async (
    req: FastifyRequest<{ Params: WebhookParams }>,
    reply: FastifyReply,
  ): Promise<FastifyReply> => {
    const provider = ctx.providers.get(req.params.provider)
    if (!provider?.handleWebhook) throw new AppError(errors.not_found)
    const webhook: WebhookRequest = {
      kind: req.params.kind,
      url: `${ctx.config.publicUrl}${req.url}`,
      method: req.method,
      headers: req.headers,
      rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
    }
    let outcome
    try {
      outcome = provider.handleWebhook(webhook)
    } catch (err) {
      if (err instanceof MalformedWebhook) {
        throw new AppError(errors.invalid_request, { reason: 'unparseable provider webhook' })
      }
      throw err
    }
    if (!outcome.verified) throw new AppError(errors.invalid_signature)
    await ctx.reports.ingest(provider.name, outcome.events)
    const answer = outcome.answer
    if (!answer) return reply.code(204).send()
    return reply.code(answer.status).type(answer.contentType).send(answer.body)
  }

  const opts = { schema: { hide: true } }
  app.post<{ Params: WebhookParams }>('/:provider/:kind', opts, handle)
  app.get<{ Params: WebhookParams }>('/:provider/:kind', opts, handle)
}

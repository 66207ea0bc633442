import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RouteHandlerMethod,
  RouteOptions,
} from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import { IDEMPOTENCY_KEY, requestHash } from '../domain/idempotency/idempotency.js'
import type { IdempotencyRow } from '../store/schema.js'
import type { IdempotencyClaim } from '../usecases/submit-messages.js'
import type { AppContext } from './context.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route honours `Idempotency-Key`: the first 2xx answer is stored and replayed for
     * the same key and payload. Its handler either returns the value to answer (stored by
     * this module) or, when it stores the record itself in its own transaction (message
     * intake), sends the answer and sets `req.idempotency.stored`.
     */
    idempotent?: boolean
  }
  interface FastifyRequest {
    /** The claimed Idempotency-Key of this request, if it carries one. */
    idempotency: (IdempotencyClaim & { stored: boolean }) | null
  }
}

/** Answers with a stored response, or refuses a key reused with another payload. */
export function replayIdempotent(
  reply: FastifyReply,
  stored: IdempotencyRow,
  hash: string,
): FastifyReply {
  if (stored.request_hash !== hash) throw new AppError(errors.idempotency_key_reused)
  return reply
    .code(stored.response_status)
    .header('idempotent-replayed', 'true')
    .type('application/json')
    .serializer((p: unknown) => p as string)
    .send(stored.response_body)
}

/**
 * Idempotency for every POST route that opts in (`config: { idempotent: true }`): a stored
 * answer is replayed, a key still in flight in this process is 409, and otherwise the handler
 * runs with the key claimed. Errors are not stored: a retry after a 4xx runs again.
 */
export function registerIdempotency(app: FastifyInstance, ctx: AppContext): void {
  const ttlMs = ctx.config.idempotencyTtlHours * 3_600_000
  app.decorateRequest('idempotency', null)
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.config?.idempotent) return
    const inner = route.handler
    const wrapped: RouteHandlerMethod = async function (this: FastifyInstance, req, reply) {
      return runIdempotent(req, reply, () => inner.call(this, req, reply))
    }
    route.handler = wrapped
  })

  async function runIdempotent(
    req: FastifyRequest,
    reply: FastifyReply,
    handler: () => unknown,
  ): Promise<unknown> {
    const raw = req.headers['idempotency-key']
    if (raw === undefined) return handler()
    if (typeof raw !== 'string' || !IDEMPOTENCY_KEY.test(raw)) {
      throw new AppError(errors.invalid_idempotency_key)
    }
    const apiKeyId = req.apiKeyId
    const hash = requestHash(req.method, req.routeOptions.url ?? req.url, {
      p: req.params,
      b: req.body,
    })
    const stored = await ctx.store.findIdempotency(apiKeyId, raw)
    if (stored) return replayIdempotent(reply, stored, hash)
    if (!ctx.inFlight.tryBegin(apiKeyId, raw)) {
      throw new AppError(errors.idempotency_request_in_progress)
    }
    try {
      const claim = { apiKeyId, key: raw, hash, stored: false }
      req.idempotency = claim
      const value = await handler()
      if (value === reply || reply.sent || claim.stored) return value
      // The handler returned the value to answer: serialize it as the route would, keep it
      // for replays, and answer the same bytes.
      const status = reply.statusCode
      const body = reply.serialize(value) as string
      if (status >= 200 && status < 300) {
        const now = ctx.now()
        await ctx.store.saveIdempotency({
          api_key_id: apiKeyId,
          key: raw,
          request_hash: hash,
          response_status: status,
          response_body: body,
          created_at: now,
          expires_at: now + ttlMs,
        })
        claim.stored = true
      }
      return reply
        .type('application/json')
        .serializer((p: unknown) => p as string)
        .send(body)
    } finally {
      ctx.inFlight.end(apiKeyId, raw)
    }
  }
}

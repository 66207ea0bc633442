import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyInstance } from 'fastify'

/** A caller's `x-request-id` is kept only when it is this safe to log and echo. */
const CALLER_ID = /^[A-Za-z0-9._-]{1,64}$/

/** Fastify's `genReqId`: the caller's `x-request-id` when well formed, else a new UUID. */
export function requestId(req: IncomingMessage): string {
  const header = req.headers['x-request-id']
  return typeof header === 'string' && CALLER_ID.test(header) ? header : randomUUID()
}

/**
 * Every answer carries `x-request-id`, set before routing so 404s, 415s and every error that
 * goes through `sendError` have it too (`sendError` sets it again for errors raised before the
 * request's hooks run).
 */
export function registerRequestId(app: FastifyInstance): void {
  app.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id)
    done()
  })
}

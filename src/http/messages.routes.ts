import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import { IDEMPOTENCY_KEY, requestHash } from '../domain/idempotency/idempotency.js'
import type { MessageRecord } from '../domain/messages/message.js'
import { parsePhone } from '../domain/messages/phone.js'
import { prepareMessage } from '../domain/messages/prepare.js'
import { maskUserInfo } from '../domain/webhooks/callback-url.js'
import { iso, isoOf, messageJson, presentMessage } from '../domain/messages/present.js'
import { packRows } from '../store/rows.js'
import type { IdempotencyRow } from '../store/schema.js'
import type { AppContext } from './app.js'
import {
  BatchBody,
  BatchResult,
  IdParams,
  ListQuery,
  MessageWithEvents,
  SendMessageBody,
  WebhookDeliveryView,
} from './schemas.js'
import { Type } from '@sinclair/typebox'

const MessageRef = Type.Ref('Message')
const ErrorRef = Type.Ref('Error')
const errorResponses = { 400: ErrorRef, 401: ErrorRef, 403: ErrorRef, 409: ErrorRef, 422: ErrorRef }

interface BatchItem {
  id: string
  status: string
  to: string
  encoding: string
  segments: number
  createdAt: string
}

interface Idem {
  key: string
  hash: string
  apiKeyId: string
}

/** Replays a stored response, or rejects a key reused with another payload. */
function replay(reply: FastifyReply, stored: IdempotencyRow, hash: string): FastifyReply {
  if (stored.request_hash !== hash) throw new AppError(errors.idempotency_key_reused)
  return reply
    .code(stored.response_status)
    .header('idempotent-replayed', 'true')
    .type('application/json')
    .serializer((p: unknown) => p as string)
    .send(stored.response_body)
}

export function messageRoutes(app: FastifyInstance, ctx: AppContext): void {
  const policy = ctx.config.messages
  const ttlMs = ctx.config.idempotencyTtlHours * 3_600_000

  /** Runs `handler` under an Idempotency-Key when the request carries one. */
  async function withIdempotency(
    req: FastifyRequest,
    reply: FastifyReply,
    apiKeyId: string,
    handler: (idem: Idem | null) => Promise<FastifyReply>,
  ): Promise<FastifyReply> {
    const raw = req.headers['idempotency-key']
    if (raw === undefined) return handler(null)
    if (typeof raw !== 'string' || !IDEMPOTENCY_KEY.test(raw)) {
      throw new AppError(errors.invalid_idempotency_key)
    }
    const hash = requestHash(req.method, req.routeOptions.url ?? req.url, {
      p: req.params,
      b: req.body,
    })
    const stored = await ctx.store.findIdempotency(apiKeyId, raw)
    if (stored) return replay(reply, stored, hash)
    if (!ctx.inFlight.tryBegin(apiKeyId, raw)) {
      throw new AppError(errors.idempotency_request_in_progress)
    }
    try {
      return await handler({ key: raw, hash, apiKeyId })
    } finally {
      ctx.inFlight.end(apiKeyId, raw)
    }
  }

  function idemRow(idem: Idem | null, status: number, body: string): IdempotencyRow | null {
    if (!idem) return null
    const now = ctx.now()
    return {
      api_key_id: idem.apiKeyId,
      key: idem.key,
      request_hash: idem.hash,
      response_status: status,
      response_body: body,
      created_at: now,
      expires_at: now + ttlMs,
    }
  }

  /**
   * Stores packed messages (`packRows`, with the idempotency record) and answers 202 with
   * `json`, or replays a race winner. It takes the packed rows and the answer only, so the
   * message records and answer objects are garbage while the commit is awaited: kept alive
   * across it, a 1,000-message batch's records outlived young-generation collections and
   * were copied into the old generation.
   */
  async function store(
    reply: FastifyReply,
    rows: unknown[],
    idem: Idem | null,
    json: string,
  ): Promise<FastifyReply> {
    const result = await ctx.submit({ idempotency: idemRow(idem, 202, json), rows })
    if (result.outcome === 'duplicate' && idem) return replay(reply, result.existing, idem.hash)
    return reply
      .code(202)
      .type('application/json')
      .serializer((p: unknown) => p as string)
      .send(json)
  }

  /** Prepares every message of a batch: the packed rows of the valid ones and the answer. */
  function prepareBatch(
    items: BatchBody['messages'],
    apiKeyId: string,
  ): { rows: unknown[]; json: string } {
    const now = ctx.now()
    const messages: MessageRecord[] = []
    const data: { index: number; message?: BatchItem; error?: object }[] = []
    items.forEach((m, index) => {
      const r = prepareMessage(m, { apiKeyId, now, policy })
      if (r.ok) {
        const x = r.message
        messages.push(x)
        // A summary per item: the full message is one GET away, and a 1,000-message answer
        // stays small.
        data.push({
          index,
          message: {
            id: x.id,
            status: x.status,
            to: x.to_number,
            encoding: x.encoding,
            segments: x.segments,
            createdAt: isoOf(x.created_at),
          },
        })
      } else {
        data.push({
          index,
          error: { code: r.error.code, message: r.error.message, details: r.details },
        })
      }
    })
    const body = { accepted: messages.length, failed: data.length - messages.length, data }
    return { rows: packRows(messages), json: JSON.stringify(body) }
  }

  app.post<{ Body: SendMessageBody }>(
    '/messages',
    {
      schema: {
        summary: 'Send a message',
        description:
          'Validates and stores the message durably, then answers 202. Send an `Idempotency-Key` header to make retries safe.',
        tags: ['messages'],
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String()) }),
        body: SendMessageBody,
        response: { 202: MessageRef, ...errorResponses },
      },
    },
    async (req, reply) => {
      const apiKeyId = await ctx.auth.authenticate(req, 'messages:write')
      return withIdempotency(req, reply, apiKeyId, async (idem) => {
        const r = prepareMessage(req.body, { apiKeyId, now: ctx.now(), policy })
        if (!r.ok) throw new AppError(r.error, r.details)
        return store(reply, packRows([r.message]), idem, messageJson(r.message))
      })
    },
  )

  app.post<{ Body: BatchBody }>(
    '/messages/batch',
    {
      schema: {
        summary: 'Send up to 1,000 messages',
        description:
          'Each message is validated on its own: the answer lists, by index, the stored message or the error that stopped it.',
        tags: ['messages'],
        body: BatchBody,
        response: { 202: BatchResult, ...errorResponses },
      },
    },
    async (req, reply) => {
      const apiKeyId = await ctx.auth.authenticate(req, 'messages:write')
      return withIdempotency(req, reply, apiKeyId, async (idem) => {
        const { rows, json } = prepareBatch(req.body.messages, apiKeyId)
        return store(reply, rows, idem, json)
      })
    },
  )

  app.get<{ Querystring: ListQuery }>(
    '/messages',
    {
      schema: {
        summary: 'List messages, newest first',
        tags: ['messages'],
        querystring: ListQuery,
        response: {
          200: Type.Object({
            data: Type.Array(MessageRef),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      await ctx.auth.authenticate(req, 'messages:read')
      const q = req.query
      const limit = q.limit ?? 50
      const number = (field: 'to' | 'from', v: string | undefined) => {
        if (v === undefined) return undefined
        if (field === 'from' && !v.startsWith('+')) return v
        const p = parsePhone(v, policy.defaultCountry)
        if (!p.ok) throw new AppError(errors.invalid_phone_number, { field, reason: p.reason })
        return p.e164
      }
      let beforeId: string | undefined
      if (q.cursor !== undefined) {
        beforeId = Buffer.from(q.cursor, 'base64url').toString('utf8')
        if (!/^msg_[0-9A-Z]{26}$/.test(beforeId)) throw new AppError(errors.invalid_cursor)
      }
      const rows = await ctx.store.listMessages({
        status: q.status,
        to: number('to', q.to),
        from: number('from', q.from),
        type: q.type,
        direction: q.direction,
        createdAfter: q.createdAfter ? Date.parse(q.createdAfter) : undefined,
        createdBefore: q.createdBefore ? Date.parse(q.createdBefore) : undefined,
        beforeId,
        limit: limit + 1,
      })
      const page = rows.slice(0, limit)
      const last = page[page.length - 1]
      return {
        data: page.map(presentMessage),
        nextCursor: rows.length > limit && last ? Buffer.from(last.id).toString('base64url') : null,
      }
    },
  )

  app.get<{ Params: IdParams }>(
    '/messages/:id',
    {
      schema: {
        summary: 'Get a message with its status timeline',
        tags: ['messages'],
        params: IdParams,
        response: { 200: MessageWithEvents, 404: ErrorRef, 401: ErrorRef, 403: ErrorRef },
      },
    },
    async (req) => {
      await ctx.auth.authenticate(req, 'messages:read')
      const m = await ctx.store.getMessage(req.params.id)
      if (!m) throw new AppError(errors.not_found)
      const events = await ctx.store.listEvents(m.id)
      return {
        ...presentMessage(m),
        events: events.map((e) => ({
          status: e.status,
          at: new Date(e.at).toISOString(),
          errorCode: e.error_code,
          detail: e.detail,
        })),
      }
    },
  )

  app.post<{ Params: IdParams }>(
    '/messages/:id/cancel',
    {
      schema: {
        summary: 'Cancel a scheduled or still-queued message',
        tags: ['messages'],
        params: IdParams,
        response: { 200: MessageRef, 404: ErrorRef, ...errorResponses },
      },
    },
    async (req, reply) => {
      const apiKeyId = await ctx.auth.authenticate(req, 'messages:write')
      return withIdempotency(req, reply, apiKeyId, async (idem) => {
        const r = await ctx.store.tx(() => ctx.store.messages.cancel(req.params.id, ctx.now()))
        if (r === 'not_found') throw new AppError(errors.not_found)
        if (r === 'not_cancelable') throw new AppError(errors.message_not_cancelable)
        const json = JSON.stringify(presentMessage(r))
        const row = idemRow(idem, 200, json)
        if (row) await ctx.store.saveIdempotency(row)
        return reply
          .code(200)
          .type('application/json')
          .serializer((p: unknown) => p as string)
          .send(json)
      })
    },
  )

  app.get<{ Params: IdParams }>(
    '/messages/:id/webhooks',
    {
      schema: {
        summary: "A message's outbound webhook deliveries and every attempt",
        tags: ['messages'],
        params: IdParams,
        response: {
          200: Type.Object({ data: Type.Array(WebhookDeliveryView) }),
          404: ErrorRef,
          401: ErrorRef,
          403: ErrorRef,
        },
      },
    },
    async (req) => {
      await ctx.auth.authenticate(req, 'messages:read')
      const m = await ctx.store.getMessage(req.params.id)
      if (!m) throw new AppError(errors.not_found)
      const deliveries = await ctx.store.listDeliveries(m.id)
      const attempts = await ctx.store.listAttempts(deliveries.map((d) => d.id))
      return {
        data: deliveries.map((d) => ({
          id: d.id,
          url: maskUserInfo(d.url),
          eventType: d.event_type,
          status: d.status,
          attempts: d.attempts,
          lastStatusCode: d.last_status_code,
          lastError: d.last_error,
          nextAttemptAt: d.status === 'pending' ? iso(d.next_attempt_at) : null,
          createdAt: new Date(d.created_at).toISOString(),
          attemptLog: attempts
            .filter((a) => a.delivery_id === d.id)
            .map((a) => ({
              attempt: a.attempt,
              at: new Date(a.at).toISOString(),
              durationMs: a.duration_ms,
              statusCode: a.status_code,
              error: a.error,
            })),
        })),
      }
    },
  )
}

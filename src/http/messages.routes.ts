import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import { parsePhone } from '../domain/messages/phone.js'
import { iso, presentMessage } from '../domain/messages/present.js'
import type { SubmitOutcome } from '../usecases/submit-messages.js'
import type { AppContext } from './context.js'
import { replayIdempotent } from './idempotency.js'
import { maskUserInfo } from '../domain/webhooks/callback-url.js'
import {
  BatchBody,
  BatchResult,
  IdParams,
  ListQuery,
  Message,
  MessageWithEvents,
  SendAttemptView,
  MessagePartView,
  SendMessageBody,
  WebhookDeliveryView,
} from './schemas.js'

/** GET /v1/messages's filters: the shared list query, with `number` and `provider`. */
const MessageListQuery = Type.Object(
  {
    ...ListQuery.properties,
    number: Type.Optional(
      Type.String({
        maxLength: 32,
        description: 'Sent to or received from this number (`to` or `from` equals it)',
      }),
    ),
    provider: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        pattern: '^[^\\u0000]*$',
        description: 'The provider instance it went through (or came from)',
      }),
    ),
  },
  { additionalProperties: false },
)
type MessageListQuery = Static<typeof MessageListQuery>

/** Answers a submit-messages outcome: 202 with the stored answer, a replay, or the error. */
export function answerSubmission(req: FastifyRequest, reply: FastifyReply, r: SubmitOutcome) {
  switch (r.outcome) {
    case 'invalid':
      throw new AppError(r.error, r.details)
    case 'replay':
      return replayIdempotent(reply, r.stored, req.idempotency?.hash ?? '')
    case 'accepted':
      // The use case stored the answer with the messages, in the same transaction.
      if (req.idempotency) req.idempotency.stored = true
      return reply
        .code(202)
        .type('application/json')
        .serializer((p: unknown) => p as string)
        .send(r.json)
  }
}

export function messageRoutes(
  app: FastifyInstance,
  ctx: Pick<AppContext, 'store' | 'now' | 'config' | 'submitter'>,
): void {
  const policy = ctx.config.messages

  app.post<{ Body: SendMessageBody }>(
    '/messages',
    {
      config: { scope: 'messages:write', idempotent: true },
      schema: {
        summary: 'Send a message',
        description:
          'Validates and stores the message durably, then answers 202. Send an `Idempotency-Key` header to make retries safe.',
        tags: ['messages'],
        body: Type.Ref(SendMessageBody),
        response: {
          202: Type.Ref(Message, { description: 'Stored and queued (or scheduled)' }),
        },
      },
    },
    async (req, reply) => {
      const r = await ctx.submitter.submit(req.body, {
        apiKeyId: req.apiKeyId,
        idempotency: req.idempotency,
      })
      return answerSubmission(req, reply, r)
    },
  )

  app.post<{ Body: BatchBody }>(
    '/messages/batch',
    {
      config: { scope: 'messages:write', idempotent: true },
      schema: {
        summary: 'Send up to 1,000 messages',
        description:
          'Each message is validated on its own: the answer lists, by index, the stored message or the error that stopped it.',
        tags: ['messages'],
        body: Type.Ref(BatchBody),
        response: {
          202: Type.Ref(BatchResult, {
            description:
              'Every valid message is stored; `data` says, by index, what became of each',
          }),
        },
      },
    },
    async (req, reply) => {
      const r = await ctx.submitter.submitBatch(req.body.messages, {
        apiKeyId: req.apiKeyId,
        idempotency: req.idempotency,
      })
      return answerSubmission(req, reply, r)
    },
  )

  app.get<{ Querystring: MessageListQuery }>(
    '/messages',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: 'List messages, newest first',
        tags: ['messages'],
        querystring: MessageListQuery,
        response: {
          200: Type.Object(
            {
              data: Type.Array(Type.Ref(Message)),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            },
            { description: 'A page of messages; pass `nextCursor` as `cursor` for the next one' },
          ),
        },
      },
    },
    async (req) => {
      const q = req.query
      const limit = q.limit ?? 50
      const number = (field: 'to' | 'from' | 'number', v: string | undefined) => {
        if (v === undefined) return undefined
        if (field === 'from' && !v.startsWith('+')) return v
        // A sender id (letters) is matched as given, like `from`.
        if (field === 'number' && /[a-z]/i.test(v)) return v
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
        number: number('number', q.number),
        provider: q.provider,
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
      config: { scope: 'messages:read' },
      schema: {
        summary: 'Get a message with its status timeline',
        tags: ['messages'],
        params: IdParams,
        response: {
          200: Type.Ref(MessageWithEvents, {
            description: 'The message and every status change, oldest first',
          }),
        },
      },
    },
    async (req) => {
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
      config: { scope: 'messages:write', idempotent: true },
      schema: {
        summary: 'Cancel a scheduled or still-queued message',
        tags: ['messages'],
        params: IdParams,
        response: {
          200: Type.Ref(Message, { description: 'The canceled message' }),
          409: Type.Ref('Error', {
            description:
              'The message is already on its way or final (`message_not_cancelable`), or a request with this `Idempotency-Key` is still in progress',
          }),
        },
      },
    },
    async (req) => {
      const r = await ctx.store.tx(() => ctx.store.messages.cancel(req.params.id, ctx.now()))
      if (r === 'not_found') throw new AppError(errors.not_found)
      if (r === 'not_cancelable') throw new AppError(errors.message_not_cancelable)
      return presentMessage(r)
    },
  )

  app.get<{ Params: IdParams }>(
    '/messages/:id/attempts',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: "A message's send attempts: each try, its provider instance and outcome",
        tags: ['messages'],
        params: IdParams,
        response: {
          200: Type.Object(
            { data: Type.Array(Type.Ref(SendAttemptView)) },
            { description: 'Attempts of this message, first first' },
          ),
        },
      },
    },
    async (req) => {
      const m = await ctx.store.getMessage(req.params.id)
      if (!m) throw new AppError(errors.not_found)
      const attempts = await ctx.store.listSendAttempts(m.id)
      return {
        data: attempts.map((a) => ({
          attempt: a.attempt,
          provider: a.provider,
          sender: a.sender,
          startedAt: new Date(a.started_at).toISOString(),
          endedAt: new Date(a.ended_at).toISOString(),
          outcome: a.outcome,
          errorCode: a.error_code,
          latencyMs: a.latency_ms,
          cost:
            a.cost === null || a.cost_currency === null
              ? null
              : { amount: a.cost, currency: a.cost_currency },
        })),
      }
    },
  )

  app.get<{ Params: IdParams }>(
    '/messages/:id/parts',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: "A message's parts as the provider numbered them, each with its status and price",
        description:
          'One entry per part of each attempt a provider accepted (a long body goes as several SMS, each with its own provider id and delivery report). Empty until a provider accepted the message; inbound messages list their provider id.',
        tags: ['messages'],
        params: IdParams,
        response: {
          200: Type.Object(
            { data: Type.Array(Type.Ref(MessagePartView)) },
            { description: 'Parts by attempt, then part number' },
          ),
        },
      },
    },
    async (req) => {
      const m = await ctx.store.getMessage(req.params.id)
      if (!m) throw new AppError(errors.not_found)
      const parts = await ctx.store.listMessageParts(m.id)
      return {
        data: parts.map((p) => ({
          attempt: p.attempt,
          part: p.part,
          parts: p.parts,
          provider: p.provider,
          providerMessageId: p.provider_message_id,
          status: p.status,
          errorCode: p.error_code,
          price:
            p.price === null || p.currency === null
              ? null
              : { amount: p.price, currency: p.currency },
        })),
      }
    },
  )

  app.get<{ Params: IdParams }>(
    '/messages/:id/webhooks',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: "A message's outbound webhook deliveries and every attempt",
        tags: ['messages'],
        params: IdParams,
        response: {
          200: Type.Object(
            { data: Type.Array(Type.Ref(WebhookDeliveryView)) },
            { description: 'Deliveries of this message, oldest first, each with its attempts' },
          ),
        },
      },
    },
    async (req) => {
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

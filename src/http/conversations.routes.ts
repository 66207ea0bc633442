import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import {
  decodeConversationCursor,
  encodeConversationCursor,
  presentConversation,
} from '../domain/conversations/conversation.js'
import { AppError, errors } from '../domain/errors.js'
import { parsePhone } from '../domain/messages/phone.js'
import { presentMessage } from '../domain/messages/present.js'
import type { ConversationChange } from '../store/conversation.repo.js'
import type { AppContext } from './context.js'
import { answerSubmission } from './messages.routes.js'
import { IdParams, Message } from './schemas.js'

/** For strings stored or queried as they are (PostgreSQL text cannot hold U+0000). */
const NO_NUL = '^[^\\u0000]*$'
const Time = Type.String({ format: 'date-time' })

const ConversationFlag = Type.Object(
  {
    type: Type.Literal('possible_opt_out', {
      description:
        '`possible_opt_out`: an inbound message reads like a request to stop without being a keyword; nothing was recorded',
    }),
    messageId: Type.String({ description: 'The message that raised it' }),
    at: Type.String({ format: 'date-time', description: 'When that message came' }),
  },
  { $id: 'ConversationFlag' },
)

const Conversation = Type.Object(
  {
    id: Type.String(),
    contact: Type.Object(
      {
        id: Type.String(),
        phone: Type.String({ description: 'E.164' }),
        createdAt: Type.String({ format: 'date-time', description: 'Its first inbound SMS' }),
      },
      { description: 'The person: one contact per phone number, made by their first SMS' },
    ),
    number: Type.String({ description: 'The Switchboard number (or short code) they texted' }),
    status: Type.Union([Type.Literal('open'), Type.Literal('closed')], {
      description: 'A new inbound message reopens a closed conversation',
    }),
    unread: Type.Boolean({ description: 'An inbound message came since it was last read' }),
    assignee: Type.Union([Type.String(), Type.Null()]),
    lastMessageAt: Type.String({
      format: 'date-time',
      description:
        'Its latest inbound message, or message sent through `POST /v1/conversations/{id}/messages`',
    }),
    flags: Type.Array(Type.Ref(ConversationFlag), {
      description: 'Reasons for a person to review it, oldest first (at most 20)',
    }),
    createdAt: Time,
    updatedAt: Time,
  },
  { $id: 'Conversation' },
)

const ConversationWithMessages = Type.Intersect(
  [
    Type.Ref(Conversation),
    Type.Object({
      messages: Type.Array(Type.Ref(Message), {
        description: 'Inbound and outbound, oldest first: the latest `limit` (before `before`)',
      }),
      olderCursor: Type.Union([Type.String(), Type.Null()], {
        description: 'Pass as `before` for the messages before these; null when there are none',
      }),
    }),
  ],
  { $id: 'ConversationWithMessages' },
)

const ReplyBody = Type.Object(
  { body: Type.String({ minLength: 1, maxLength: 10_000, pattern: NO_NUL }) },
  {
    $id: 'ConversationMessageRequest',
    additionalProperties: false,
    examples: [{ body: 'Thanks, we are looking into it.' }],
  },
)
type ReplyBody = Static<typeof ReplyBody>

const AssignBody = Type.Object(
  {
    assignee: Type.Union(
      [Type.String({ minLength: 1, maxLength: 200, pattern: NO_NUL }), Type.Null()],
      { description: 'Who handles it (your own identifier); null unassigns' },
    ),
  },
  {
    $id: 'AssignConversationRequest',
    additionalProperties: false,
    examples: [{ assignee: 'alice@example.com' }],
  },
)
type AssignBody = Static<typeof AssignBody>

const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])),
    assignee: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: NO_NUL })),
    phone: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 32,
        description: "The contact's number (E.164, or national read with DEFAULT_COUNTRY)",
      }),
    ),
    unread: Type.Optional(Type.Boolean()),
    q: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        pattern: NO_NUL,
        description:
          'Text one of its messages contains (case-insensitive; SQLite folds ASCII letters only)',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
)
type ListQuery = Static<typeof ListQuery>

const MessagesQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    before: Type.Optional(
      Type.String({ maxLength: 200, description: 'An `olderCursor` from an earlier answer' }),
    ),
  },
  { additionalProperties: false },
)
type MessagesQuery = Static<typeof MessagesQuery>

export const conversationSchemas = [
  ConversationFlag,
  Conversation,
  ConversationWithMessages,
  ReplyBody,
  AssignBody,
]

/**
 * The inbox: conversations (one per contact and Switchboard number, made by inbound SMS),
 * their threads, replies through the send pipeline, and the agent's actions on them.
 */
export function conversationRoutes(
  app: FastifyInstance,
  ctx: Pick<AppContext, 'store' | 'now' | 'submitter' | 'config'>,
): void {
  const repo = ctx.store.conversations
  const found = async (id: string) => {
    const c = await repo.get(id)
    if (!c) throw new AppError(errors.not_found)
    return c
  }

  app.get<{ Querystring: ListQuery }>(
    '/conversations',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: 'List conversations, newest activity first',
        tags: ['conversations'],
        querystring: ListQuery,
        response: {
          200: Type.Object(
            {
              data: Type.Array(Type.Ref(Conversation)),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            },
            {
              description:
                'A page of conversations; pass `nextCursor` as `cursor` for the next one',
            },
          ),
        },
      },
    },
    async (req) => {
      const q = req.query
      const limit = q.limit ?? 50
      let after
      if (q.cursor !== undefined) {
        after = decodeConversationCursor(q.cursor)
        if (!after) throw new AppError(errors.invalid_cursor)
      }
      let phone: string | undefined
      if (q.phone !== undefined) {
        const p = parsePhone(q.phone, ctx.config.messages.defaultCountry)
        if (!p.ok)
          throw new AppError(errors.invalid_phone_number, { field: 'phone', reason: p.reason })
        phone = p.e164
      }
      const found = await repo.list({
        status: q.status,
        phone,
        assignee: q.assignee,
        unread: q.unread,
        q: q.q,
        after,
        limit: limit + 1,
      })
      const page = found.slice(0, limit)
      const last = page[page.length - 1]
      return {
        data: page.map(presentConversation),
        nextCursor:
          found.length > limit && last
            ? encodeConversationCursor({ lastMessageAt: Number(last.last_message_at), id: last.id })
            : null,
      }
    },
  )

  app.get<{ Params: IdParams; Querystring: MessagesQuery }>(
    '/conversations/:id',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: 'Get a conversation with its messages',
        tags: ['conversations'],
        params: IdParams,
        querystring: MessagesQuery,
        response: {
          200: Type.Ref(ConversationWithMessages, {
            description: 'The conversation and its latest messages, oldest first',
          }),
        },
      },
    },
    async (req) => {
      const c = await found(req.params.id)
      const limit = req.query.limit ?? 100
      let before: string | undefined
      if (req.query.before !== undefined) {
        before = Buffer.from(req.query.before, 'base64url').toString('utf8')
        if (!/^msg_[0-9A-Z]{26}$/.test(before)) throw new AppError(errors.invalid_cursor)
      }
      const thread = await repo.messages(c, { before, limit })
      const oldest = thread.messages[0]
      return {
        ...presentConversation(c),
        messages: thread.messages.map(presentMessage),
        olderCursor: thread.more && oldest ? Buffer.from(oldest.id).toString('base64url') : null,
      }
    },
  )

  app.post<{ Params: IdParams; Body: ReplyBody }>(
    '/conversations/:id/messages',
    {
      config: { scope: 'messages:write', idempotent: true },
      schema: {
        summary: 'Send a message in the conversation',
        description:
          "A normal outbound message from the conversation's number to its contact, through the same validation, idempotency and send pipeline as `POST /v1/messages`; answered like it.",
        tags: ['conversations'],
        params: IdParams,
        body: Type.Ref(ReplyBody),
        response: {
          202: Type.Ref(Message, { description: 'Stored and queued' }),
        },
      },
    },
    async (req, reply) => {
      const c = await found(req.params.id)
      const r = await ctx.submitter.submit(
        { to: c.phone, from: c.number, body: req.body.body },
        { apiKeyId: req.apiKeyId, idempotency: req.idempotency },
      )
      if (r.outcome === 'accepted') {
        // The message is stored and will go: its 202 must not turn into a 500 (a retry without
        // Idempotency-Key would send it twice) because the conversation's time did not move.
        await ctx.store
          .tx(() => repo.touch(c.id, ctx.now()))
          .catch((err: unknown) =>
            req.log.warn({ err, conversationId: c.id }, 'conversation activity not updated'),
          )
      }
      return answerSubmission(req, reply, r)
    },
  )

  const action = (
    path: string,
    summary: string,
    change: (req: { body: unknown }) => ConversationChange,
    body?: typeof AssignBody,
  ) =>
    app.post<{ Params: IdParams }>(
      `/conversations/:id/${path}`,
      {
        config: { scope: 'messages:write' },
        schema: {
          summary,
          tags: ['conversations'],
          params: IdParams,
          ...(body ? { body: Type.Ref(body) } : {}),
          response: { 200: Type.Ref(Conversation, { description: 'The conversation now' }) },
        },
      },
      async (req) => {
        const changed = await ctx.store.tx(() => repo.change(req.params.id, change(req), ctx.now()))
        if (!changed) throw new AppError(errors.not_found)
        return presentConversation(await found(req.params.id))
      },
    )

  action(
    'assign',
    'Assign the conversation (null unassigns)',
    (req) => ({ assignee: (req.body as AssignBody).assignee }),
    AssignBody,
  )
  action('close', 'Close the conversation (a new inbound message reopens it)', () => ({
    status: 'closed',
  }))
  action('reopen', 'Reopen the conversation', () => ({ status: 'open' }))
  action('read', 'Mark the conversation read', () => ({ unread: false }))
  action('flags/clear', 'Clear its review flags (after a person looked at them)', () => ({
    flags: 'clear',
  }))
}

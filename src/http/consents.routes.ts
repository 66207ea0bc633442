import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { MESSAGE_TYPE_SCOPES } from '../domain/consent/enforce.js'
import { AppError, errors } from '../domain/errors.js'
import { parsePhone } from '../domain/messages/phone.js'
import { parseSender } from '../domain/messages/sender.js'
import type { ConsentHistoryEntry } from '../store/consent.repo.js'
import type { AppContext } from './context.js'
import { serialCursor } from './serial-cursor.js'

const NO_NUL = '^[^\\u0000]*$'
const Time = Type.String({ format: 'date-time' })
const Source = Type.Union(
  ['api', 'keyword', 'import', 'web_form', 'provider'].map((s) => Type.Literal(s)),
  { description: 'Where the consent came from' },
)
const ScopeField = Type.String({
  minLength: 1,
  maxLength: 32,
  pattern: NO_NUL,
  description:
    '`all` (every message from every sender), a sender (E.164 number, short code or alphanumeric id: every message from it), or a message type, `marketing` or `transactional` (that type from every sender)',
})
const Evidence = Type.Object(
  {
    ip: Type.Optional(Type.String({ maxLength: 64, pattern: NO_NUL })),
    userAgent: Type.Optional(Type.String({ maxLength: 1000, pattern: NO_NUL })),
    formUrl: Type.Optional(Type.String({ maxLength: 2000, pattern: NO_NUL })),
  },
  {
    additionalProperties: Type.String({ maxLength: 2000, pattern: NO_NUL }),
    maxProperties: 20,
    description:
      'What proves the consent: `ip`, `userAgent`, `formUrl`, and other string fields (at most 20)',
  },
)

const RecordConsentBody = Type.Object(
  {
    phone: Type.String({
      minLength: 1,
      maxLength: 32,
      description: 'E.164, or a national number read with DEFAULT_COUNTRY',
    }),
    action: Type.Union([Type.Literal('opt_in'), Type.Literal('opt_out')]),
    scope: ScopeField,
    source: Source,
    disclosure: Type.Optional(
      Type.Union([Type.String({ maxLength: 5000, pattern: NO_NUL }), Type.Null()], {
        description: 'The exact disclosure text the person agreed to, or its version',
      }),
    ),
    evidence: Type.Optional(Type.Union([Evidence, Type.Null()])),
  },
  {
    $id: 'RecordConsentRequest',
    additionalProperties: false,
    examples: [
      {
        phone: '+14155550123',
        action: 'opt_in',
        scope: 'marketing',
        source: 'web_form',
        disclosure: 'marketing-sms-v3',
        evidence: {
          ip: '203.0.113.7',
          userAgent: 'Mozilla/5.0',
          formUrl: 'https://example.com/join',
        },
      },
    ],
  },
)
type RecordConsentBody = Static<typeof RecordConsentBody>

const HistoryEntry = Type.Object({
  action: Type.Union([Type.Literal('opt_in'), Type.Literal('opt_out')]),
  scope: Type.String(),
  source: Type.String(),
  at: Time,
  disclosure: Type.Union([Type.String(), Type.Null()]),
  evidence: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
})

const RecordedConsent = Type.Object(
  {
    phone: Type.String({ description: 'E.164' }),
    action: Type.Union([Type.Literal('opt_in'), Type.Literal('opt_out')]),
    scope: Type.String(),
    source: Type.String(),
    at: Time,
    disclosure: Type.Union([Type.String(), Type.Null()]),
    evidence: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    changed: Type.Boolean({
      description:
        'Whether it changed the number’s state for the scope (a `consent.changed` event was raised); a repeated opt-out is recorded but changes nothing',
    }),
  },
  { $id: 'ConsentEntry' },
)

const ConsentView = Type.Object(
  {
    phone: Type.String({ description: 'E.164' }),
    state: Type.Array(
      Type.Object({
        scope: Type.String(),
        status: Type.Union([Type.Literal('opted_in'), Type.Literal('opted_out')]),
        since: Time,
      }),
      { description: 'Per scope with an entry: its latest entry' },
    ),
    history: Type.Array(HistoryEntry, { description: 'Every ledger entry, oldest first' }),
  },
  { $id: 'Consent' },
)

const Suppression = Type.Object(
  {
    phone: Type.String({ description: 'E.164' }),
    scope: Type.String(),
    since: Time,
  },
  { $id: 'Suppression' },
)

export const consentSchemas = [RecordConsentBody, RecordedConsent, ConsentView, Suppression]

const PhoneParams = Type.Object({ phone: Type.String({ minLength: 1, maxLength: 32 }) })
type PhoneParams = Static<typeof PhoneParams>

const SuppressionQuery = Type.Object(
  {
    scope: Type.Optional(ScopeField),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
)
type SuppressionQuery = Static<typeof SuppressionQuery>

/** A scope as the ledger keys it: `all`, a message type, or a sender (E.164 normalised). */
function parseScope(raw: string): string {
  const s = raw.trim()
  if (s === 'all' || (MESSAGE_TYPE_SCOPES as readonly string[]).includes(s)) return s
  const sender = parseSender(s)
  if (sender.ok) return sender.from
  if (sender.reason === 'invalid_phone_number') {
    throw new AppError(errors.invalid_phone_number, { field: 'scope', reason: sender.phone })
  }
  throw new AppError(errors.validation_failed, {
    field: 'scope',
    reason: 'not all, marketing, transactional or a sender',
  })
}

const iso = (t: number) => new Date(t).toISOString()
const historyView = (h: ConsentHistoryEntry) => ({
  action: h.action,
  scope: h.scope,
  source: h.source,
  at: iso(h.at),
  disclosure: h.disclosure,
  evidence: h.evidence,
})

/**
 * The consent ledger (docs/compliance.md): recording consent is an administrative act on a
 * compliance record (`admin`); reading it takes `messages:read`, as reading messages does.
 */
export function consentRoutes(
  app: FastifyInstance,
  ctx: Pick<AppContext, 'store' | 'now' | 'config'>,
): void {
  const phoneOf = (raw: string, field: string) => {
    const p = parsePhone(raw, ctx.config.messages.defaultCountry)
    if (!p.ok) throw new AppError(errors.invalid_phone_number, { field, reason: p.reason })
    return p.e164
  }

  app.post<{ Body: RecordConsentBody }>(
    '/consents',
    {
      config: { scope: 'admin', idempotent: true },
      schema: {
        summary: 'Record an opt-in or opt-out in the consent ledger',
        description:
          'Appends an entry to the ledger (rows are never changed). The number’s state for the scope becomes this entry at once: sends accepted after the answer follow it, and messages still queued to the number go out only if it allows them. Raises `consent.changed` when the state changes.',
        tags: ['consent'],
        body: Type.Ref(RecordConsentBody),
        response: { 201: Type.Ref(RecordedConsent, { description: 'The recorded entry' }) },
      },
    },
    async (req, reply) => {
      const b = req.body
      const entry = {
        phone: phoneOf(b.phone, 'phone'),
        action: b.action,
        scope: parseScope(b.scope),
        source: b.source as 'api' | 'keyword' | 'import' | 'web_form' | 'provider',
        disclosure: b.disclosure ?? null,
        evidence: b.evidence ?? null,
        at: ctx.now(),
      }
      const { consents, audit } = ctx.store
      const actor = req.apiKeyId ?? 'unknown'
      const [recorded] = await ctx.store.tx(function* () {
        const done = yield* consents.record([entry])
        // Consent changed by the API is an administrative action: audited (number hashed).
        yield* audit.record([
          {
            action: 'consent.changed',
            actor,
            phone: entry.phone,
            details: { action: entry.action, scope: entry.scope, source: entry.source },
            at: entry.at,
          },
        ])
        return done
      })
      void reply.code(201)
      return {
        phone: entry.phone,
        action: entry.action,
        scope: entry.scope,
        source: entry.source,
        at: iso(entry.at),
        disclosure: entry.disclosure,
        evidence: entry.evidence,
        changed: recorded?.changed ?? false,
      }
    },
  )

  app.get<{ Params: PhoneParams }>(
    '/consents/:phone',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: 'A number’s consent: current state per scope and the whole ledger history',
        tags: ['consent'],
        params: PhoneParams,
        response: {
          200: Type.Ref(ConsentView, {
            description: 'Empty `state` and `history` for a number with no entry',
          }),
        },
      },
    },
    async (req) => {
      const phone = phoneOf(req.params.phone, 'phone')
      const [state, history] = await Promise.all([
        ctx.store.consentState(phone),
        ctx.store.consentHistory(phone),
      ])
      return {
        phone,
        state: state.map((s) => ({ scope: s.scope, status: s.status, since: iso(s.since) })),
        history: history.map(historyView),
      }
    },
  )

  app.get<{ Querystring: SuppressionQuery }>(
    '/suppressions',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: 'Numbers currently opted out, newest opt-out first',
        description:
          'One entry per number and scope whose latest ledger entry is an opt-out. Filter with `scope`; pass `nextCursor` as `cursor` for the next page.',
        tags: ['consent'],
        querystring: SuppressionQuery,
        response: {
          200: Type.Object(
            {
              data: Type.Array(Type.Ref(Suppression)),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            },
            { description: 'A page of opted-out numbers' },
          ),
        },
      },
    },
    async (req) => {
      const q = req.query
      const limit = q.limit ?? 50
      const beforeId = serialCursor.decode(q.cursor, 'c')
      const found = await ctx.store.listOptedOut({
        scope: q.scope === undefined ? undefined : parseScope(q.scope),
        beforeId,
        limit: limit + 1,
      })
      const page = found.slice(0, limit)
      const last = page[page.length - 1]
      return {
        data: page.map((s) => ({ phone: s.phone, scope: s.scope, since: iso(s.since) })),
        nextCursor: serialCursor.next(last, found.length > limit, 'c'),
      }
    },
  )
}

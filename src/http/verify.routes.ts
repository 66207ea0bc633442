import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import { parsePhone } from '../domain/messages/phone.js'
import { presentVerification, verifyStats, type VerifyService } from '../usecases/verify.js'
import type { VerificationRow } from '../store/schema.js'
import type { AppContext } from './context.js'

const NO_NUL = '^[^\\u0000]*$'
const Time = Type.String({ format: 'date-time' })
const Status = Type.Union(
  ['pending', 'approved', 'expired', 'locked', 'canceled'].map((s) => Type.Literal(s)),
)

const StartVerificationBody = Type.Object(
  {
    to: Type.String({
      minLength: 1,
      maxLength: 32,
      pattern: NO_NUL,
      description: 'E.164, or a national number read with DEFAULT_COUNTRY',
    }),
    codeLength: Type.Optional(
      Type.Integer({ minimum: 4, maximum: 10, default: 6, description: 'Digits of the code' }),
    ),
    ttl: Type.Optional(
      Type.Integer({
        minimum: 60,
        maximum: 3600,
        default: 600,
        description: 'Seconds the code lives; also the SMS validity period',
      }),
    ),
    locale: Type.Optional(
      Type.String({
        maxLength: 35,
        pattern: '^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$',
        description: 'The text’s language: en, es, fr, de, pt (others fall back to en)',
      }),
    ),
    template: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        pattern: NO_NUL,
        description: 'A named template to render instead of the default text',
      }),
    ),
    clientIp: Type.Optional(
      Type.String({
        minLength: 2,
        maxLength: 45,
        pattern: '^[0-9A-Fa-f:.]+$',
        description: 'The end user’s IP address, for the per-IP limit',
      }),
    ),
  },
  {
    $id: 'StartVerificationRequest',
    additionalProperties: false,
    examples: [{ to: '+14155550123', codeLength: 6, ttl: 600, locale: 'en' }],
  },
)
type StartVerificationBody = Static<typeof StartVerificationBody>

const VerificationStarted = Type.Object(
  {
    id: Type.String(),
    to: Type.String({ description: 'E.164' }),
    status: Type.Literal('pending'),
    expiresAt: Time,
    sends: Type.Integer({ description: 'SMS sent for this verification so far (at most 5)' }),
  },
  { $id: 'VerificationStarted' },
)

const CheckVerificationBody = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: NO_NUL })),
    to: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 32,
        pattern: NO_NUL,
        description: 'Checks the number’s newest verification',
      }),
    ),
    code: Type.String({ minLength: 1, maxLength: 10, pattern: '^[0-9]+$' }),
  },
  {
    $id: 'CheckVerificationRequest',
    additionalProperties: false,
    description: 'Exactly one of `id` and `to`',
    examples: [{ to: '+14155550123', code: '123456' }],
  },
)
type CheckVerificationBody = Static<typeof CheckVerificationBody>

const VerificationChecked = Type.Object(
  {
    id: Type.String(),
    status: Type.Union([Type.Literal('approved'), Type.Literal('pending')], {
      description: '`pending`: a wrong code, attempts left',
    }),
  },
  { $id: 'VerificationCheck' },
)

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()])

const Verification = Type.Object(
  {
    id: Type.String(),
    to: Type.String(),
    status: Status,
    sends: Type.Integer(),
    attempts: Type.Integer({ description: 'Wrong codes checked' }),
    codeLength: Type.Integer(),
    locale: Nullable(Type.String()),
    template: Nullable(Type.String()),
    messageId: Nullable(Type.String({ description: 'Its newest SMS (its body is redacted)' })),
    createdAt: Time,
    expiresAt: Time,
    approvedAt: Nullable(Time),
    lockedUntil: Nullable(Time),
    updatedAt: Time,
  },
  { $id: 'Verification' },
)

const Counts = Type.Record(Type.String(), Type.Integer())
const Rate = Type.Union([Type.Number(), Type.Null()])
const VerificationStats = Type.Object(
  {
    from: Time,
    to: Time,
    sends: Type.Integer({ description: 'Verification SMS sent in the period' }),
    verifications: Type.Integer({ description: 'Verifications started in the period' }),
    approvals: Type.Integer({ description: 'Verifications approved in the period' }),
    conversionRate: Type.Union([Type.Number(), Type.Null()], {
      description: 'Of the verifications started in the period, the share approved (0-1)',
    }),
    medianTimeToApproveSeconds: Type.Union([Type.Number(), Type.Null()]),
    blocked: Type.Record(Type.String(), Type.Integer(), {
      description: 'Refused requests by error code',
    }),
    blocks: Type.Record(Type.String(), Type.Integer(), {
      description: 'Blocks placed by the abuse protection, by reason',
    }),
    countries: Type.Array(
      Type.Object({
        country: Type.Union([Type.String(), Type.Null()]),
        sends: Type.Integer(),
        verifications: Type.Integer(),
        approvals: Type.Integer(),
        conversionRate: Rate,
        medianTimeToApproveSeconds: Rate,
        blocked: Counts,
      }),
    ),
  },
  { $id: 'VerificationStats' },
)

const IdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
)
const StatsQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Default: `to` - 24 h' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Default: now' })),
  },
  { additionalProperties: false },
)

const ListQuery = Type.Object(
  {
    status: Type.Optional(Status),
    to: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 32,
        pattern: NO_NUL,
        description: 'The number (E.164, or national with DEFAULT_COUNTRY)',
      }),
    ),
    createdAfter: Type.Optional(
      Type.String({ format: 'date-time', description: 'Started at or after this time' }),
    ),
    createdBefore: Type.Optional(
      Type.String({ format: 'date-time', description: 'Started before this time' }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
)
type ListQuery = Static<typeof ListQuery>

/** List cursors: `v<created_at>.<id>` (base64url) of the last verification of a page. */
const listCursor = {
  decode(cursor: string | undefined): { createdAt: number; id: string } | undefined {
    if (cursor === undefined) return undefined
    const m = /^v([0-9]{1,16})\.([A-Za-z0-9_-]{1,64})$/.exec(
      Buffer.from(cursor, 'base64url').toString('utf8'),
    )
    if (!m) throw new AppError(errors.invalid_cursor)
    return { createdAt: Number(m[1]), id: m[2] as string }
  },
  encode: (v: { created_at: number; id: string }) =>
    Buffer.from(`v${Number(v.created_at)}.${v.id}`).toString('base64url'),
}

export const verifySchemas = [
  StartVerificationBody,
  VerificationStarted,
  CheckVerificationBody,
  VerificationChecked,
  Verification,
  VerificationStats,
]

const error = (description: string) => Type.Ref('Error', { description })

/**
 * The Verify API (docs/verify.md). Starting and checking a verification take `messages:write`
 * (they send, or close, an SMS code); reading one and the stats take `messages:read`.
 */
export function verifyRoutes(
  app: FastifyInstance,
  ctx: Pick<AppContext, 'store' | 'now' | 'config'> & { verify: VerifyService },
): void {
  app.get<{ Querystring: ListQuery }>(
    '/verifications',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: 'List verifications, newest first (never a code)',
        description:
          'Filters: `status` (as shown: a pending verification past its expiry is `expired`), `to`, and the period `createdAfter` (inclusive) to `createdBefore`. Each entry is the view of `GET /v1/verifications/{id}`; pass `nextCursor` as `cursor` for the next page.',
        tags: ['verify'],
        querystring: ListQuery,
        response: {
          200: Type.Object(
            {
              data: Type.Array(Type.Ref(Verification)),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            },
            { description: 'A page of verifications' },
          ),
        },
      },
    },
    async (req) => {
      const q = req.query
      const limit = q.limit ?? 50
      let to: string | undefined
      if (q.to !== undefined) {
        const p = parsePhone(q.to, ctx.config.messages.defaultCountry)
        if (!p.ok)
          throw new AppError(errors.invalid_phone_number, { field: 'to', reason: p.reason })
        to = p.e164
      }
      const now = ctx.now()
      const found = await ctx.store.verify.list({
        status: q.status as VerificationRow['status'] | undefined,
        to,
        createdAfter: q.createdAfter === undefined ? undefined : Date.parse(q.createdAfter),
        createdBefore: q.createdBefore === undefined ? undefined : Date.parse(q.createdBefore),
        before: listCursor.decode(q.cursor),
        now,
        limit: limit + 1,
      })
      const page = found.slice(0, limit)
      const last = page[page.length - 1]
      return {
        data: page.map((v) => presentVerification(v, now)),
        nextCursor: found.length > limit && last ? listCursor.encode(last) : null,
      }
    },
  )

  app.post<{ Body: StartVerificationBody }>(
    '/verifications',
    {
      config: { scope: 'messages:write', idempotent: true },
      schema: {
        summary: 'Start a verification: send a one-time code by SMS',
        description:
          'Draws a code, keeps only its HMAC, and sends it as a transactional SMS whose validity is the `ttl` (never held by quiet hours or blocked by a marketing opt-out). For a number with a pending verification it re-sends that one (same id; the same code unless `VERIFY_NEW_CODE_ON_RESEND`), at most 5 sends. A number locked by 5 wrong codes gets `429 too_many_attempts` until the lock ends.',
        tags: ['verify'],
        body: Type.Ref(StartVerificationBody),
        response: {
          201: Type.Ref(VerificationStarted, { description: 'Sent' }),
          422: error(
            'Invalid number, template, or the recipient opted out (`recipient_opted_out`)',
          ),
          429: error('`too_many_attempts` or `too_many_sends`, with `Retry-After`'),
        },
      },
    },
    async (req, reply) => {
      const v = await ctx.verify.start(req.body, req.apiKeyId ?? null)
      void reply.code(201)
      return { id: v.id, to: v.to, status: 'pending', expiresAt: v.expiresAt, sends: v.sends }
    },
  )

  app.post<{ Body: CheckVerificationBody }>(
    '/verifications/check',
    {
      config: { scope: 'messages:write' },
      schema: {
        summary: 'Check a code',
        description:
          'Compares the code with the verification (`id`) or the number’s newest one (`to`) in constant time. `approved` closes it (checking again: `404 verification_not_found`); `pending` means a wrong code with attempts left; the 5th wrong code locks it (`429 too_many_attempts`).',
        tags: ['verify'],
        body: Type.Ref(CheckVerificationBody),
        response: {
          200: Type.Ref(VerificationChecked, { description: 'Approved, or a wrong code' }),
          404: error('`verification_not_found`'),
          410: error('`verification_expired`'),
          429: error('`too_many_attempts`, with `Retry-After`'),
        },
      },
    },
    async (req) => {
      const { id, to, code } = req.body
      if ((id === undefined) === (to === undefined)) {
        throw new AppError(errors.validation_failed, {
          field: 'id',
          reason: 'give exactly one of id and to',
        })
      }
      return ctx.verify.check({ id, to, code })
    },
  )

  app.get<{ Querystring: Static<typeof StatsQuery> }>(
    '/verifications/stats',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: 'Verify statistics over a period',
        description:
          'Sends, verifications, approvals, the conversion rate, the median time to approve, refusals by code and abuse blocks by reason, in all and per country, over [`from`, `to`).',
        tags: ['verify'],
        querystring: StatsQuery,
        response: { 200: Type.Ref(VerificationStats, { description: 'The period’s figures' }) },
      },
    },
    async (req) => {
      const to = req.query.to === undefined ? ctx.now() : Date.parse(req.query.to)
      const from = req.query.from === undefined ? to - 86_400_000 : Date.parse(req.query.from)
      if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) {
        throw new AppError(errors.validation_failed, {
          field: 'from',
          reason: 'from must be before to',
        })
      }
      return verifyStats(ctx.store, from, to)
    },
  )

  app.get<{ Params: Static<typeof IdParams> }>(
    '/verifications/:id',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: 'A verification: status, sends, attempts and times (never the code)',
        tags: ['verify'],
        params: IdParams,
        response: {
          200: Type.Ref(Verification, { description: 'The verification' }),
          404: error('`verification_not_found`'),
        },
      },
    },
    async (req) => ctx.verify.get(req.params.id),
  )
}

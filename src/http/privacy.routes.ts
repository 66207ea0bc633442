import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import { eraseNumber, exportNumber, subjectPhone } from '../usecases/privacy.js'
import type { AppContext } from './context.js'

const NO_NUL = '^[^\\u0000]*$'
const Phone = Type.String({
  minLength: 1,
  maxLength: 32,
  pattern: NO_NUL,
  description: 'The number in E.164, or a national number read with DEFAULT_COUNTRY',
})

const EraseBody = Type.Object(
  { phone: Phone },
  {
    $id: 'PrivacyEraseRequest',
    additionalProperties: false,
    examples: [{ phone: '+14155550199' }],
  },
)

const ExportQuery = Type.Object({ phone: Phone }, { additionalProperties: false })

const ExportView = Type.Object(
  {
    phone: Type.String({ description: 'The number, in E.164' }),
    exportedAt: Type.String({ format: 'date-time' }),
    data: Type.Record(Type.String(), Type.Array(Type.Unknown()), {
      description:
        'Per kind of record: `messages` (both directions, as the API shows them), `messageEvents`, `sendAttempts`, `webhookDeliveries`, `webhookAttempts`, `idempotencyRecords`, `events`, `jobs`, `consents`, `suppressions`, `inboundParts`',
    }),
  },
  { $id: 'PrivacyExport' },
)

const ErasureView = Type.Object(
  {
    target: Type.String({
      description:
        'How the audit log names the number: `phone:` and its HMAC-SHA256 under the server key',
    }),
    counts: Type.Record(Type.String(), Type.Integer(), {
      description: 'Rows deleted or scrubbed, per kind of record',
    }),
    optOutsKept: Type.Integer({
      description: 'Opt-outs and provider suppressions kept under the keyed hash',
    }),
  },
  { $id: 'PrivacyErasure' },
)

const AuditEntryView = Type.Object(
  {
    id: Type.String(),
    action: Type.String({
      description:
        '`api_key.created`, `api_key.revoked`, `consent.changed`, `privacy.exported`, `privacy.erased`, `user.created`, `user.role_changed`, `user.disabled`, `user.enabled`, `user.sessions_revoked`',
    }),
    actor: Type.String({ description: 'The API key id that acted, `cli`, or `system`' }),
    target: Type.Union([Type.String(), Type.Null()], {
      description: 'A key id, or `phone:` and the keyed hash of a number (never in clear)',
    }),
    details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    at: Type.String({ format: 'date-time' }),
  },
  { $id: 'AuditEntry' },
)

const AuditQuery = Type.Object(
  {
    action: Type.Optional(Type.String({ maxLength: 64, pattern: NO_NUL })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
)

export const privacySchemas = [EraseBody, ExportView, ErasureView, AuditEntryView]

/** GDPR export and erasure of a number, and the audit log: admin only. */
export function privacyRoutes(
  app: FastifyInstance,
  ctx: Pick<AppContext, 'store' | 'now' | 'config'>,
): void {
  const phoneOf = (input: string) => {
    const p = subjectPhone(input, ctx.config.messages.defaultCountry)
    if (!p.ok) throw new AppError(errors.invalid_phone_number, { field: 'phone', reason: p.reason })
    return p.e164
  }

  app.get<{ Querystring: Static<typeof ExportQuery> }>(
    '/privacy/export',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Everything held about a phone number, as JSON (GDPR access and portability)',
        tags: ['privacy'],
        querystring: ExportQuery,
        response: { 200: Type.Ref(ExportView, { description: 'What is held, per kind' }) },
      },
    },
    async (req) => exportNumber(ctx, phoneOf(req.query.phone), req.apiKeyId),
  )

  app.post<{ Body: Static<typeof EraseBody> }>(
    '/privacy/erase',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Erase a phone number and every body it sent or received (GDPR erasure)',
        description:
          'Removes the number and its message bodies everywhere, keeps its opt-outs under a keyed hash so they still hold, and records the erasure in the audit log without the number. Answers once it is committed (on SQLite: and checkpointed). Erasing twice is harmless.',
        tags: ['privacy'],
        body: Type.Ref(EraseBody),
        response: { 200: Type.Ref(ErasureView, { description: 'Erased' }) },
      },
    },
    async (req) => eraseNumber(ctx, phoneOf(req.body.phone), req.apiKeyId),
  )

  app.get<{ Querystring: Static<typeof AuditQuery> }>(
    '/audit',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'The audit log of administrative actions, newest first',
        tags: ['privacy'],
        querystring: AuditQuery,
        response: {
          200: Type.Object(
            {
              data: Type.Array(Type.Ref(AuditEntryView)),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            },
            { description: 'A page of entries; pass `nextCursor` as `cursor` for the next one' },
          ),
        },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 50
      let beforeId: string | undefined
      if (req.query.cursor !== undefined) {
        beforeId = Buffer.from(req.query.cursor, 'base64url').toString('utf8')
        if (!/^aud_[0-9A-Z]{26}$/.test(beforeId)) throw new AppError(errors.invalid_cursor)
      }
      const found = await ctx.store.audit.list({
        beforeId,
        action: req.query.action,
        limit: limit + 1,
      })
      const page = found.slice(0, limit)
      const last = page[page.length - 1]
      return {
        data: page.map((e) => ({
          id: e.id,
          action: e.action,
          actor: e.actor,
          target: e.target,
          details: e.details === null ? null : (JSON.parse(e.details) as Record<string, unknown>),
          at: new Date(Number(e.at)).toISOString(),
        })),
        nextCursor:
          found.length > limit && last ? Buffer.from(last.id).toString('base64url') : null,
      }
    },
  )
}

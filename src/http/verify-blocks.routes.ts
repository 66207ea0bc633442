import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { listVerificationBlocks } from '../store/verify-guard.js'
import type { AppContext } from './context.js'
import { serialCursor } from './serial-cursor.js'

const VerificationBlock = Type.Object(
  {
    id: Type.Integer(),
    kind: Type.String({
      description:
        'What is blocked: `prefix` (a number range: leading digits), `number`, `ip` (a client IP) or `country`',
    }),
    value: Type.String({ description: 'The prefix (`+44770090`), number, IP or ISO country code' }),
    reason: Type.String({ description: '`low_approval_burst`: velocity detection' }),
    details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], {
      description:
        'What triggered it: `sends`, `approved`, `approvalRate`, `minApprovalRate`, `minSends`, `windowSeconds`, `graceSeconds`',
    }),
    createdAt: Type.String({ format: 'date-time' }),
    until: Type.String({ format: 'date-time', description: 'When the block ends' }),
    active: Type.Boolean({ description: 'In force now' }),
  },
  { $id: 'VerificationBlock' },
)

export const verifyBlockSchemas = [VerificationBlock]

const BlocksQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('all')], {
        default: 'active',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
)
type BlocksQuery = Static<typeof BlocksQuery>

const iso = (t: number) => new Date(t).toISOString()

/**
 * The blocks of Verify's abuse protection (docs/verify.md). `admin`: they show number ranges
 * and client IPs of suspected abuse.
 */
export function verifyBlockRoutes(app: FastifyInstance, ctx: Pick<AppContext, 'store' | 'now'>) {
  app.get<{ Querystring: BlocksQuery }>(
    '/verifications/blocks',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Blocks of the Verify abuse protection, newest first',
        description:
          'Number ranges (and numbers, client IPs, countries) refused verification codes for a while, with the reason and what triggered it. `status`: `active` (default), `expired` or `all`; pass `nextCursor` as `cursor` for the next page.',
        tags: ['verify'],
        querystring: BlocksQuery,
        response: {
          200: Type.Object(
            {
              data: Type.Array(Type.Ref(VerificationBlock)),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            },
            { description: 'A page of blocks' },
          ),
        },
      },
    },
    async (req) => {
      const q = req.query
      const limit = q.limit ?? 50
      const beforeId = serialCursor.decode(q.cursor, 'b')
      const now = ctx.now()
      const found = await listVerificationBlocks(ctx.store.db.kysely, {
        status: q.status ?? 'active',
        now,
        beforeId,
        limit: limit + 1,
      })
      const page = found.slice(0, limit)
      const last = page[page.length - 1]
      return {
        data: page.map((b) => ({
          id: b.id,
          kind: b.kind,
          value: b.value,
          reason: b.reason,
          details: b.details,
          createdAt: iso(b.createdAt),
          until: iso(b.until),
          active: b.until > now,
        })),
        nextCursor: serialCursor.next(last, found.length > limit, 'b'),
      }
    },
  )
}

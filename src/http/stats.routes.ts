import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { messageStats } from '../usecases/stats.js'
import type { AppContext } from './context.js'

const error = (description: string) => Type.Ref('Error', { description })

const StatsQuery = Type.Object(
  {
    from: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'Start (rounded down to its hour or UTC day). Default: `to` - 7 days',
      }),
    ),
    to: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'End, exclusive (rounded up to its hour or UTC day). Default: now',
      }),
    ),
    granularity: Type.Optional(
      Type.Union([Type.Literal('hour'), Type.Literal('day')], {
        description: 'Bucket size. Default: `hour` for periods up to 2 days, else `day`',
      }),
    ),
    groupBy: Type.Optional(
      Type.Union([Type.Literal('provider'), Type.Literal('country'), Type.Literal('status')], {
        description: 'Also split the figures per provider, destination country or status',
      }),
    ),
  },
  { additionalProperties: false },
)

const Cost = Type.Object(
  {
    currency: Type.Union([Type.String(), Type.Null()]),
    amount: Type.Number(),
  },
  { additionalProperties: false },
)

const measures = {
  messages: Type.Integer({ description: 'Outbound messages created' }),
  delivered: Type.Integer(),
  failed: Type.Integer({
    description: 'Final and not delivered: undelivered, failed, expired, rejected',
  }),
  deliveryRate: Type.Union([Type.Number(), Type.Null()], {
    description: 'delivered / (delivered + failed); null when both are 0',
  }),
  segments: Type.Integer(),
  cost: Type.Array(Cost, {
    description: 'Per currency: the provider’s price where known, else the estimated cost',
  }),
  inbound: Type.Integer({ description: 'Inbound messages received' }),
}

const Point = Type.Object(
  { start: Type.String({ format: 'date-time' }), ...measures },
  { additionalProperties: false },
)

const Reason = Type.Object(
  { reason: Type.String(), count: Type.Integer() },
  { additionalProperties: false },
)

const Latency = Type.Object(
  {
    count: Type.Integer({ description: 'Delivered messages measured' }),
    p50: Type.Union([Type.Integer(), Type.Null()]),
    p90: Type.Union([Type.Integer(), Type.Null()]),
    p99: Type.Union([Type.Integer(), Type.Null()]),
  },
  {
    additionalProperties: false,
    description: 'Creation to delivery, ms, from a histogram of log-spaced buckets (±13%)',
  },
)

const groupTotals = {
  ...measures,
  failuresByReason: Type.Array(
    Type.Object(
      { errorCode: Type.Union([Type.String(), Type.Null()]), count: Type.Integer() },
      { additionalProperties: false },
    ),
  ),
  latency: Latency,
}

export const MessageStats = Type.Object(
  {
    from: Type.String({ format: 'date-time' }),
    to: Type.String({ format: 'date-time' }),
    granularity: Type.Union([Type.Literal('hour'), Type.Literal('day')]),
    groupBy: Type.Union([
      Type.Literal('provider'),
      Type.Literal('country'),
      Type.Literal('status'),
      Type.Null(),
    ]),
    generatedAt: Type.String({ format: 'date-time' }),
    points: Type.Array(
      Type.Object(
        { start: Type.String({ format: 'date-time' }), ...measures, optOuts: Type.Integer() },
        { additionalProperties: false },
      ),
    ),
    totals: Type.Object(
      {
        ...groupTotals,
        optOuts: Type.Integer({ description: 'Opt-outs recorded in the consent ledger' }),
        refusals: Type.Object(
          {
            consent: Type.Array(Reason, { description: 'Sends refused at intake for consent' }),
            verify: Type.Array(Reason, { description: 'Refused Verify requests' }),
          },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
    groups: Type.Array(
      Type.Object(
        {
          key: Type.Union([Type.String(), Type.Null()], {
            description: 'The provider, ISO country or status; null when unknown',
          }),
          points: Type.Array(Point),
          totals: Type.Object(groupTotals, { additionalProperties: false }),
        },
        { additionalProperties: false },
      ),
      { description: 'With `groupBy`: the same figures per group (opt-outs only in all)' },
    ),
  },
  { $id: 'MessageStats', additionalProperties: false },
)

export const statsSchemas = [MessageStats]

/** GET /v1/stats (docs/stats.md): reading it takes `messages:read`. */
export function statsRoutes(app: FastifyInstance, ctx: Pick<AppContext, 'store' | 'now'>): void {
  app.get<{ Querystring: Static<typeof StatsQuery> }>(
    '/stats',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: 'Message statistics over a period, per hour or day',
        description:
          'Outbound volume, delivered, failed, delivery rate, segments, cost, inbound and opt-outs per time bucket (and per provider, country or status with `groupBy`), with the period’s failures by error code, latency percentiles and refusals. Served from an hourly rollup plus the messages not rolled up yet, so it is always current (docs/stats.md). At most 1000 buckets: more is `422 validation_failed`.',
        tags: ['stats'],
        querystring: StatsQuery,
        response: {
          200: Type.Ref(MessageStats, { description: 'The period’s figures' }),
          422: error('`validation_failed`: `from` not before `to`, or too many buckets'),
        },
      },
    },
    async (req) => messageStats(ctx.store, req.query, ctx.now()),
  )
}

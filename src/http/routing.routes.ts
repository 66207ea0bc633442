import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { iso } from '../domain/messages/present.js'
import type { InstanceHealth } from '../domain/routing/provider-monitor.js'
import { callbackUrlsOf, MASKED_TOKEN } from '../providers/callback-urls.js'
import { callbackAuth, describeProvider } from '../providers/registry.js'
import type { AppContext } from './context.js'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()])
const Time = Nullable(Type.String({ format: 'date-time' }))

const ProviderView = Type.Object(
  {
    name: Type.String({ description: 'Instance name, as in PROVIDERS and message `provider`' }),
    type: Type.String({ description: 'Provider type: twilio, vonage, plivo, simulator, ...' }),
    settings: Type.Record(Type.String(), Type.Unknown(), {
      description: 'Its settings that may be shown: never a secret, not even in part',
    }),
    mps: Nullable(
      Type.Number({ description: 'Pacing limit: segments per second; null: no limit' }),
    ),
    callbackUrls: Nullable(
      Type.Object(
        {
          status: Type.String({ description: 'Where its delivery reports arrive' }),
          inbound: Type.String({ description: 'Where its inbound SMS arrive' }),
        },
        {
          description:
            'The URLs to set in the provider console; a `?token=` is shown as `?token=…`. Null: the instance reports in-process',
        },
      ),
    ),
    prices: Type.Array(
      Type.Object({
        country: Type.String({ description: 'ISO 3166-1 alpha-2, or `*`' }),
        price: Type.Number({ description: 'Per segment' }),
        currency: Type.String(),
      }),
      { description: 'Its entries of PRICES' },
    ),
    health: Nullable(
      Type.Object(
        {
          sends: Type.Integer({ description: 'Sends in the window' }),
          successRate: Nullable(
            Type.Number({
              description:
                'Share of them the provider answered (accepted, or refused on the message’s merits)',
            }),
          ),
          latencyP50Ms: Nullable(Type.Integer()),
          latencyP99Ms: Nullable(Type.Integer()),
          windowMs: Type.Integer({
            description: 'The recent window: the last 5 minutes, at most 1,024 sends',
          }),
          consecutiveFailures: Type.Integer(),
        },
        { description: 'Recent health; null when no process that sends has reported it' },
      ),
    ),
    circuit: Nullable(
      Type.Object(
        {
          state: Type.Union([
            Type.Literal('closed'),
            Type.Literal('open'),
            Type.Literal('half-open'),
          ]),
          openedAt: Time,
          nextProbeAt: Time,
        },
        { description: 'Its circuit breaker; null when no process that sends has reported it' },
      ),
    ),
  },
  { $id: 'ProviderInstance' },
)

const MatchView = Type.Object(
  {
    countries: Type.Optional(Type.Array(Type.String())),
    prefixes: Type.Optional(Type.Array(Type.String())),
    type: Type.Optional(Type.Union([Type.Literal('transactional'), Type.Literal('marketing')])),
    from: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)

const RouteView = Type.Object(
  {
    index: Type.Integer({ description: 'Position in ROUTES: routes are tried in this order' }),
    match: Nullable(MatchView),
    providers: Type.Array(Type.String(), { description: 'Instances, in failover order' }),
    senders: Type.Array(
      Type.Object({
        from: Type.String(),
        mps: Nullable(Type.Number({ description: 'Its pacing limit; null: none of its own' })),
      }),
    ),
    failoverOnTimeout: Type.Boolean(),
  },
  { $id: 'Route' },
)

export const routingSchemas = [ProviderView, RouteView]

/** The routes and provider instances in force, their health and circuits: admin only. */
export function routingRoutes(
  app: FastifyInstance,
  ctx: Pick<AppContext, 'config' | 'providerHealth'>,
): void {
  const { config } = ctx

  app.get(
    '/providers',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Provider instances: settings, callback URLs, health and circuit state',
        description:
          'Health and circuits live in the process that sends. `source` says where they were read: `live` from it, or `snapshot` from what the sending processes of a cluster wrote to the database in the last 15 seconds, merged per instance (docs/routing.md).',
        tags: ['routing'],
        response: {
          200: Type.Object(
            {
              source: Type.Union([Type.Literal('live'), Type.Literal('snapshot')]),
              data: Type.Array(Type.Ref(ProviderView)),
            },
            { description: 'Every configured instance, in configured order; no secret' },
          ),
        },
      },
    },
    async () => {
      const reading = await ctx.providerHealth()
      const byName = new Map(reading.instances.map((i) => [i.name, i]))
      return {
        source: reading.source,
        data: config.providers.map((p) => {
          const seen = byName.get(p.name)
          return {
            name: p.name,
            type: p.type,
            settings: describeProvider(p),
            mps: p.mps ?? null,
            callbackUrls:
              callbackAuth(p) === 'no-callbacks'
                ? null
                : callbackUrlsOf(config.publicUrl, p, MASKED_TOKEN),
            prices: config.routing.prices
              .filter((e) => e.provider === p.name)
              .map(({ country, price, currency }) => ({ country, price, currency })),
            health: seen ? healthView(seen) : null,
            circuit: seen
              ? {
                  state: seen.circuit.state,
                  openedAt: iso(seen.circuit.openedAt),
                  nextProbeAt: iso(seen.circuit.nextProbeAt),
                }
              : null,
          }
        }),
      }
    },
  )

  app.get(
    '/routes',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'The routes in force, in order',
        description:
          'From ROUTES; without it, one default route over every instance (`source: default`). A message takes the first route that matches it.',
        tags: ['routing'],
        response: {
          200: Type.Object(
            {
              source: Type.Union([Type.Literal('configuration'), Type.Literal('default')]),
              data: Type.Array(Type.Ref(RouteView)),
            },
            { description: 'The routes, first match wins' },
          ),
        },
      },
    },
    async () => ({
      source: config.routing.configured ? 'configuration' : 'default',
      data: config.routing.routes.map((r, index) => ({
        index,
        match: r.match ?? null,
        providers: r.providers,
        senders: r.senders.map((s) => ({ from: s.from, mps: s.mps ?? null })),
        failoverOnTimeout: r.failoverOnTimeout,
      })),
    }),
  )
}

function healthView(i: InstanceHealth) {
  return {
    sends: i.health.sends,
    successRate: i.health.successRate,
    latencyP50Ms: i.health.latencyP50Ms,
    latencyP99Ms: i.health.latencyP99Ms,
    windowMs: i.health.windowMs,
    consecutiveFailures: i.circuit.consecutiveFailures,
  }
}

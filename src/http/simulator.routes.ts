import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { AppError, errors } from '../domain/errors.js'
import { parsePhone } from '../domain/messages/phone.js'
import { iso, presentMessage } from '../domain/messages/present.js'
import {
  isSimulatorProvider,
  type SimulatorProvider,
} from '../providers/simulator/simulator.provider.js'
import type { AppContext } from './context.js'
import { Message } from './schemas.js'

const NO_NUL = '^[^\\u0000]*$'
const E164 = '^\\+[1-9][0-9]{6,14}$'

export const SimulatedInboundBody = Type.Object(
  {
    from: Type.String({
      maxLength: 32,
      pattern: NO_NUL,
      description: 'The phone that texts (E.164)',
    }),
    to: Type.Optional(
      Type.String({
        maxLength: 32,
        pattern: NO_NUL,
        description: 'One of `SIMULATOR_NUMBERS`; default: the first',
      }),
    ),
    body: Type.String({ minLength: 1, maxLength: 1600, pattern: NO_NUL }),
  },
  {
    $id: 'SimulatedInboundRequest',
    additionalProperties: false,
    examples: [{ from: '+14155550123', body: 'Hello from a simulated phone' }],
  },
)
type SimulatedInboundBody = Static<typeof SimulatedInboundBody>

export const PhoneMessage = Type.Object(
  {
    id: Type.String({ description: 'The message id' }),
    from: Type.String({ description: 'The sender it came from' }),
    to: Type.String(),
    body: Type.String(),
    at: Type.String({ format: 'date-time', description: 'When it was delivered' }),
  },
  { $id: 'SimulatedPhoneMessage', additionalProperties: false },
)

const PhoneParams = Type.Object(
  { number: Type.String({ pattern: E164, description: 'The phone (E.164)' }) },
  { additionalProperties: false },
)
const PhoneQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })) },
  { additionalProperties: false },
)

export const SimulatedPhone = Type.Object(
  {
    number: Type.String({ description: 'The phone (E.164)' }),
    received: Type.Integer({ description: 'Messages the simulator delivered to it' }),
    sent: Type.Integer({ description: 'Messages it texted to the simulator’s numbers' }),
    lastAt: Type.String({
      format: 'date-time',
      description: 'When it last received or texted a message',
    }),
  },
  { $id: 'SimulatedPhone', additionalProperties: false },
)

const PhonesQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })) },
  { additionalProperties: false },
)

export const simulatorSchemas = [SimulatedInboundBody, PhoneMessage, SimulatedPhone]

const notConfigured = () =>
  new AppError(errors.not_found, { reason: 'no in-process simulator provider is configured' })

/**
 * The simulator as a phone (docs/simulator.md): a simulated phone texts one of the simulator's
 * numbers, what the simulator delivered to a phone can be read back, and the phones it knows
 * are listed. All need an in-process `simulator` instance (the default provider) and answer 404
 * otherwise.
 */
export function simulatorRoutes(
  app: FastifyInstance,
  ctx: Pick<AppContext, 'store' | 'providers' | 'reports' | 'now' | 'config' | 'handset'>,
): void {
  const simulators = [...ctx.providers.values()].filter(isSimulatorProvider)
  const first: SimulatorProvider | undefined = simulators[0]

  app.post<{ Body: SimulatedInboundBody }>(
    '/simulator/inbound',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Text one of the simulator’s numbers from a simulated phone',
        description:
          'The simulator delivers the SMS exactly as a gateway’s inbound webhook would: it is stored as a `received` message, with everything it sets off (the `message.received` event, keyword handling), in one transaction. Answers once that is committed.',
        tags: ['simulator'],
        body: Type.Ref(SimulatedInboundBody),
        response: {
          201: Type.Ref(Message, { description: 'The stored inbound message' }),
          404: Type.Ref('Error', {
            description: 'No simulator provider is configured (`not_found`)',
          }),
        },
      },
    },
    async (req, reply) => {
      if (!first) throw notConfigured()
      const from = parsePhone(req.body.from)
      if (!from.ok || !from.e164.startsWith('+') || from.e164 !== req.body.from.trim()) {
        throw new AppError(errors.invalid_phone_number, {
          field: 'from',
          reason: 'must be an E.164 number',
        })
      }
      const to = req.body.to ?? first.numbers[0]
      const sim = simulators.find((s) => to !== undefined && s.numbers.includes(to))
      if (!sim || to === undefined) {
        throw new AppError(errors.validation_failed, {
          field: 'to',
          reason: `must be one of the simulator's numbers (SIMULATOR_NUMBERS): ${first.numbers.join(', ')}`,
        })
      }
      const event = sim.inbound({ from: from.e164, to, body: req.body.body }, ctx.now())
      // The path of a gateway's inbound webhook: resolves once stored with its effects.
      await ctx.reports.ingest(sim.name, [event])
      const stored = await ctx.store.findByProviderRef(sim.name, event.providerMessageId)
      if (!stored) throw new Error('the simulated inbound SMS was not stored')
      return reply.code(201).send(presentMessage(stored))
    },
  )

  app.get<{ Querystring: Static<typeof PhonesQuery> }>(
    '/simulator/phones',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: 'The simulated phones: every number the simulator delivered to or heard from',
        description:
          'Each phone the simulator delivered a message to (outbound, through a simulator instance, reported `delivered`) or that texted one of its numbers, with how many it received and sent and when it last did, the most recently active first. Also the simulator’s own numbers (`SIMULATOR_NUMBERS`), the first being where a reply goes by default.',
        tags: ['simulator'],
        querystring: PhonesQuery,
        response: {
          200: Type.Object(
            {
              simulatorNumbers: Type.Array(Type.String(), {
                description: 'The simulator’s numbers (SIMULATOR_NUMBERS of every instance)',
              }),
              data: Type.Array(Type.Ref(SimulatedPhone)),
            },
            { description: 'The phones, most recently active first' },
          ),
          404: Type.Ref('Error', {
            description: 'No simulator provider is configured (`not_found`)',
          }),
        },
      },
    },
    async (req) => {
      if (!first) throw notConfigured()
      const names = simulators.map((s) => s.name)
      const db = ctx.store.db.kysely
      const at = sql<number>`coalesce(completed_at, created_at)`
      const received = db
        .selectFrom('messages')
        .select([
          'to_number as number',
          at.as('at'),
          sql<number>`1`.as('received'),
          sql<number>`0`.as('sent'),
        ])
        .where('direction', '=', 'outbound')
        .where('provider', 'in', names)
        .where('status', '=', 'delivered')
      const sent = db
        .selectFrom('messages')
        .select([
          sql<string>`from_number`.as('number'),
          at.as('at'),
          sql<number>`0`.as('received'),
          sql<number>`1`.as('sent'),
        ])
        .where('direction', '=', 'inbound')
        .where('provider', 'in', names)
        .where('from_number', 'is not', null)
      const rows = await db
        .selectFrom(received.unionAll(sent).as('p'))
        .select([
          'p.number',
          sql<number | string>`sum(p.received)`.as('received'),
          sql<number | string>`sum(p.sent)`.as('sent'),
          sql<number | string>`max(p.at)`.as('last_at'),
        ])
        .groupBy('p.number')
        .orderBy(sql`max(p.at)`, 'desc')
        .orderBy('p.number')
        .limit(req.query.limit ?? 100)
        .execute()
      return {
        simulatorNumbers: [...new Set(simulators.flatMap((s) => s.numbers))],
        data: rows.map((r) => ({
          number: r.number,
          received: Number(r.received),
          sent: Number(r.sent),
          lastAt: iso(Number(r.last_at)) as string,
        })),
      }
    },
  )

  app.get<{ Params: Static<typeof PhoneParams>; Querystring: Static<typeof PhoneQuery> }>(
    '/simulator/phones/:number/messages',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: 'What a simulated phone has received',
        description:
          'The messages the simulator delivered to this phone, newest first: outbound messages sent through a simulator instance to the number and reported `delivered`. Empty `data` for a phone that received nothing. A verification SMS shows the text the phone received, code included (the simulator’s handset keeps it in memory; the message log keeps it redacted): the one place a code is shown.',
        tags: ['simulator'],
        params: PhoneParams,
        querystring: PhoneQuery,
        response: {
          200: Type.Object(
            { data: Type.Array(Type.Ref(PhoneMessage)) },
            { description: 'The phone’s messages, newest first' },
          ),
        },
      },
    },
    async (req) => {
      if (!first) throw notConfigured()
      const found = await ctx.store.simulatorInbox(
        req.params.number,
        simulators.map((s) => s.name),
        req.query.limit ?? 50,
      )
      // Verification SMS are stored redacted: the handset shows what it received.
      const secret = found.filter((m) => m.metadata?.includes('"verificationId"'))
      const received =
        secret.length > 0 && ctx.handset ? await ctx.handset(secret.map((m) => m.id)) : undefined
      return {
        data: found.map((m) => ({
          id: m.id,
          from: m.sender ?? m.from_number ?? first.numbers[0] ?? '',
          to: m.to_number,
          body: received?.get(m.id) ?? m.body,
          at: iso(m.completed_at ?? m.sent_at ?? m.created_at) as string,
        })),
      }
    },
  )
}

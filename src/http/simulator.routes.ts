import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
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

export const simulatorSchemas = [SimulatedInboundBody, PhoneMessage]

const notConfigured = () =>
  new AppError(errors.not_found, { reason: 'no in-process simulator provider is configured' })

/**
 * The simulator as a phone (docs/simulator.md): a simulated phone texts one of the simulator's
 * numbers, and what the simulator delivered to a phone can be read back. Both need an
 * in-process `simulator` instance (the default provider) and answer 404 otherwise.
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

import { Type, type Static } from '@sinclair/typebox'
import { MESSAGE_STATUSES } from '../domain/messages/status.js'
import { SCOPES } from '../domain/keys/api-keys.js'
import { ATTEMPT_OUTCOMES } from '../domain/messages/attempts.js'

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()])

/**
 * For strings stored or queried as they are: PostgreSQL text cannot hold U+0000, so a NUL
 * would otherwise fail in the database (500) instead of validation (422).
 */
const NO_NUL = '^[^\\u0000]*$'

export const TEMPLATE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*$'

/** Values of template variables, by name: strings, numbers, ISO dates, `{ amount, currency }`. */
export const TemplateVariableValues = Type.Record(
  Type.String({ maxLength: 64 }),
  Type.Union([
    Type.String({ maxLength: 1024, pattern: NO_NUL }),
    Type.Number(),
    Type.Null(),
    Type.Object(
      {
        amount: Type.Number(),
        currency: Type.String({ minLength: 3, maxLength: 3 }),
      },
      { additionalProperties: false },
    ),
  ]),
  {
    $id: 'TemplateVariableValues',
    maxProperties: 50,
    propertyNames: { maxLength: 64 },
    description:
      'Values of the template\'s declared variables: a string, a number, an ISO 8601 date or date-time (date), or `{ "amount", "currency" }` (currency); null takes the default',
  },
)

export const SendMessageBody = Type.Object(
  {
    to: Type.String({
      minLength: 1,
      maxLength: 32,
      description: 'Destination in E.164, or a national number read with DEFAULT_COUNTRY',
    }),
    body: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 10_000,
        pattern: NO_NUL,
        description: 'Message text; give either `body` or `template`',
      }),
    ),
    template: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        pattern: TEMPLATE_NAME_PATTERN,
        description: 'A template to render the text from instead of `body` (docs/templates.md)',
      }),
    ),
    variables: Type.Optional(Type.Ref(TemplateVariableValues)),
    locale: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 35,
        description:
          "BCP 47 locale of the template text: `pt-BR` uses pt-BR's newest version, else pt's, else the template's default locale's",
      }),
    ),
    templateVersion: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'A version of the template in the resolved locale (default: the newest)',
      }),
    ),
    from: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 32,
        description: 'E.164 number, short code or alphanumeric sender id',
      }),
    ),
    type: Type.Optional(
      Type.Union([Type.Literal('transactional'), Type.Literal('marketing')], {
        default: 'transactional',
      }),
    ),
    metadata: Type.Optional(
      Type.Record(
        Type.String({ maxLength: 64 }),
        Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean(), Type.Null()]),
        {
          maxProperties: 50,
          // A Record's key schema only names the keys' pattern; the length needs propertyNames.
          propertyNames: { maxLength: 64 },
          description: 'Your own key/value data, returned with the message',
        },
      ),
    ),
    statusCallback: Type.Optional(
      Type.String({
        format: 'uri',
        pattern: '^https?://',
        maxLength: 2048,
        description:
          'URL that receives every status change as a signed Standard Webhook. User info (https://user:pass@host/...) is sent as Basic auth and shown masked; internal addresses are refused (docs/webhooks.md)',
      }),
    ),
    validityPeriod: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 604_800, description: 'Seconds the message may wait' }),
    ),
    sendAt: Type.Optional(
      Type.String({ format: 'date-time', description: 'Schedule the message (RFC 3339)' }),
    ),
    smartEncoding: Type.Optional(
      Type.Boolean({ description: 'Replace look-alike Unicode punctuation with GSM-7' }),
    ),
  },
  {
    $id: 'SendMessageRequest',
    additionalProperties: false,
    examples: [{ to: '+14155550100', body: 'Hello from Switchboard' }],
  },
)
export type SendMessageBody = Static<typeof SendMessageBody>

export const BatchBody = Type.Object(
  { messages: Type.Array(Type.Ref(SendMessageBody), { minItems: 1, maxItems: 1000 }) },
  {
    $id: 'SendBatchRequest',
    additionalProperties: false,
    examples: [
      {
        messages: [
          { to: '+14155550100', body: 'Your order has shipped' },
          { to: '+14155550101', body: 'Your order has shipped' },
        ],
      },
    ],
  },
)
export type BatchBody = Static<typeof BatchBody>

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'Error' },
)

export const Money = Type.Object(
  {
    amount: Type.Number(),
    currency: Type.String({ description: 'ISO 4217', examples: ['USD'] }),
  },
  { $id: 'Money' },
)

export const Message = Type.Object(
  {
    id: Type.String(),
    direction: Type.Union([Type.Literal('outbound'), Type.Literal('inbound')]),
    to: Type.String(),
    from: Nullable(Type.String()),
    body: Type.String(),
    type: Type.Union([Type.Literal('transactional'), Type.Literal('marketing')]),
    status: Type.Union(MESSAGE_STATUSES.map((s) => Type.Literal(s))),
    encoding: Type.Union([Type.Literal('GSM-7'), Type.Literal('UCS-2')]),
    segments: Type.Integer(),
    smartEncoding: Type.Boolean(),
    errorCode: Nullable(Type.String()),
    errorMessage: Nullable(Type.String()),
    provider: Nullable(
      Type.String({ description: 'The provider instance it went out through (or came in by)' }),
    ),
    providerMessageId: Nullable(
      Type.String({
        description:
          "The provider's id for it (the first part's, where the provider answers one id per part)",
      }),
    ),
    sender: Nullable(
      Type.String({
        description:
          "The sender it went out through: its own `from`, else its route's sticky sender; null for the provider's default",
      }),
    ),
    cost: Type.Object(
      {
        estimated: Type.Union([Type.Ref(Money), Type.Null()], {
          description:
            "Segments x the price table's price for its provider and destination, at send time",
        }),
        actual: Type.Union([Type.Ref(Money), Type.Null()], {
          description:
            "The provider's own price, as its answer or delivery reports gave it (summed over the message's parts)",
        }),
      },
      { description: 'What the message costs; null where not known (yet)' },
    ),
    metadata: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    statusCallback: Nullable(Type.String()),
    validityPeriod: Type.Integer(),
    validUntil: Type.String({ format: 'date-time' }),
    sendAt: Nullable(Type.String({ format: 'date-time' })),
    attempts: Type.Integer(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    sentAt: Nullable(Type.String({ format: 'date-time' })),
    completedAt: Nullable(Type.String({ format: 'date-time' })),
    template: Type.Union(
      [
        Type.Object({
          name: Type.String(),
          version: Type.Integer(),
          locale: Type.String(),
        }),
        Type.Null(),
      ],
      { description: 'The template, version and locale its body was rendered from; null: none' },
    ),
  },
  { $id: 'Message' },
)

export const MessageEvent = Type.Object(
  {
    status: Type.String(),
    at: Type.String({ format: 'date-time' }),
    errorCode: Nullable(Type.String()),
    detail: Nullable(Type.String()),
  },
  { $id: 'MessageEvent' },
)

export const MessageWithEvents = Type.Intersect(
  [Type.Ref(Message), Type.Object({ events: Type.Array(Type.Ref(MessageEvent)) })],
  { $id: 'MessageWithEvents' },
)

export const BatchResult = Type.Object(
  {
    accepted: Type.Integer(),
    failed: Type.Integer(),
    data: Type.Array(
      Type.Object({
        index: Type.Integer(),
        message: Type.Optional(
          Type.Object({
            id: Type.String(),
            status: Type.String(),
            to: Type.String(),
            encoding: Type.String(),
            segments: Type.Integer(),
            createdAt: Type.String({ format: 'date-time' }),
          }),
        ),
        error: Type.Optional(
          Type.Object({
            code: Type.String(),
            message: Type.String(),
            details: Type.Optional(Type.Unknown()),
          }),
        ),
      }),
    ),
  },
  { $id: 'BatchResult' },
)

export const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(MESSAGE_STATUSES.map((s) => Type.Literal(s)))),
    to: Type.Optional(Type.String({ maxLength: 32 })),
    from: Type.Optional(Type.String({ maxLength: 32, pattern: NO_NUL })),
    type: Type.Optional(Type.Union([Type.Literal('transactional'), Type.Literal('marketing')])),
    direction: Type.Optional(
      Type.Union([Type.Literal('outbound'), Type.Literal('inbound')], {
        description: '`inbound`: SMS received from the gateways (status `received`)',
      }),
    ),
    createdAfter: Type.Optional(Type.String({ format: 'date-time' })),
    createdBefore: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
)
export type ListQuery = Static<typeof ListQuery>

export const IdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, pattern: NO_NUL }),
})
export type IdParams = Static<typeof IdParams>

export const CreateKeyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: NO_NUL }),
    scopes: Type.Array(Type.Union(SCOPES.map((s) => Type.Literal(s))), {
      minItems: 1,
      uniqueItems: true,
    }),
  },
  {
    $id: 'CreateApiKeyRequest',
    additionalProperties: false,
    examples: [{ name: 'my app', scopes: ['messages:write', 'messages:read'] }],
  },
)
export type CreateKeyBody = Static<typeof CreateKeyBody>

export const ApiKeyView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    prefix: Type.String(),
    scopes: Type.Array(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    lastUsedAt: Nullable(Type.String({ format: 'date-time' })),
    revokedAt: Nullable(Type.String({ format: 'date-time' })),
    key: Type.Optional(Type.String({ description: 'The secret key; returned only once' })),
  },
  { $id: 'ApiKey' },
)

export const WebhookDeliveryView = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    eventType: Type.String(),
    status: Type.String(),
    attempts: Type.Integer(),
    lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
    lastError: Nullable(Type.String()),
    nextAttemptAt: Nullable(Type.String({ format: 'date-time' })),
    createdAt: Type.String({ format: 'date-time' }),
    attemptLog: Type.Array(
      Type.Object({
        attempt: Type.Integer(),
        at: Type.String({ format: 'date-time' }),
        durationMs: Type.Integer(),
        statusCode: Type.Union([Type.Integer(), Type.Null()]),
        error: Nullable(Type.String()),
      }),
    ),
  },
  { $id: 'WebhookDelivery' },
)

export const SendAttemptView = Type.Object(
  {
    attempt: Type.Integer({ description: '1 for the first try' }),
    provider: Type.String({ description: 'The provider instance tried' }),
    sender: Nullable(Type.String({ description: 'The sender the request named' })),
    startedAt: Type.String({ format: 'date-time' }),
    endedAt: Type.String({ format: 'date-time' }),
    outcome: Type.Union(
      ATTEMPT_OUTCOMES.map((o) => Type.Literal(o)),
      {
        description:
          '`accepted`, `retry` (a retryable failure), `unknown` (the answer was lost: it may have been sent), `rejected` (permanent), `expired`',
      },
    ),
    errorCode: Nullable(Type.String()),
    latencyMs: Type.Integer({ description: 'How long the provider took to answer' }),
    cost: Type.Union([Type.Ref(Money), Type.Null()], {
      description: 'Estimated cost of this try, where the price table has a price',
    }),
  },
  { $id: 'SendAttempt' },
)

export const MessagePartView = Type.Object(
  {
    attempt: Type.Integer({ description: 'The send attempt that produced this part' }),
    part: Type.Integer({ description: '1-based part number' }),
    parts: Type.Integer({ description: 'How many parts that attempt sent' }),
    provider: Type.String({ description: 'The provider instance' }),
    providerMessageId: Type.String({ description: "The provider's id for this part" }),
    status: Nullable(
      Type.String({ description: 'The last status reported for this part (null: none yet)' }),
    ),
    errorCode: Nullable(Type.String()),
    price: Type.Union([Type.Ref(Money), Type.Null()], {
      description: "The provider's price for this part, as reported",
    }),
  },
  { $id: 'MessagePart' },
)

/** Schemas registered by `$id`: referenced as `Type.Ref(X)` and named in the OpenAPI document. */
export const namedSchemas = [
  ErrorBody,
  TemplateVariableValues,
  Money,
  Message,
  MessageEvent,
  MessageWithEvents,
  SendMessageBody,
  BatchBody,
  BatchResult,
  CreateKeyBody,
  ApiKeyView,
  WebhookDeliveryView,
  SendAttemptView,
  MessagePartView,
]

import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import { iso } from '../domain/messages/present.js'
import { maskUserInfo } from '../domain/webhooks/callback-url.js'
import { WebhookSecrets, type WebhookSecretState } from '../usecases/webhook-secrets.js'
import type { AppContext } from './context.js'

const SecretView = Type.Object(
  {
    secret: Type.String({
      description: 'The `whsec_...` secret that signs statusCallback webhooks',
    }),
    source: Type.Union([Type.Literal('configuration'), Type.Literal('generated')], {
      description:
        '`configuration`: WEBHOOK_SECRET; `generated`: created on first start or by a rotation',
    }),
    previousExpiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'Until when the secret before the last rotation also signs, or null',
    }),
  },
  { $id: 'WebhookSecret' },
)

const RotateBody = Type.Object(
  {
    overlapSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 2_592_000,
        description:
          'How long the old secret keeps signing too (default WEBHOOK_SECRET_ROTATION_OVERLAP)',
      }),
    ),
  },
  {
    $id: 'RotateWebhookSecretRequest',
    additionalProperties: false,
    examples: [{ overlapSeconds: 3600 }],
  },
)

const EndpointView = Type.Object(
  {
    id: Type.String(),
    url: Type.String({ description: 'The URL, with any password masked' }),
    status: Type.Union([Type.Literal('active'), Type.Literal('removed')], {
      description: '`removed`: no longer in WEBHOOK_ENDPOINTS; it receives nothing new',
    }),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'WebhookEndpoint' },
)

export const webhookSchemas = [SecretView, RotateBody, EndpointView]

const present = (s: WebhookSecretState) => ({
  secret: s.secret,
  source: s.source,
  previousExpiresAt: iso(s.previous?.expiresAt ?? null),
})

/** The webhook secret (read and rotate) and the endpoints in force: admin only. */
export function webhookRoutes(
  app: FastifyInstance,
  ctx: Pick<AppContext, 'store' | 'now' | 'config'>,
): void {
  const secrets = new WebhookSecrets(ctx.store, ctx.config.webhooks.secret, ctx.now)

  app.get(
    '/webhooks/secret',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'The secret that signs statusCallback webhooks',
        tags: ['webhooks'],
        response: { 200: Type.Ref(SecretView, { description: 'The current secret' }) },
      },
    },
    async () => present(await secrets.state()),
  )

  app.post<{ Body: Static<typeof RotateBody> | undefined }>(
    '/webhooks/secret/rotate',
    {
      config: { scope: 'admin', idempotent: true },
      // The body is optional: a POST without one rotates with the configured overlap.
      preValidation: async (req) => {
        req.body ??= {}
      },
      schema: {
        summary: 'Rotate the webhook secret',
        description:
          'Generates a new secret. During the overlap every delivery carries two signatures (new and old, space-separated in `webhook-signature`), so receivers can switch without missing one.',
        tags: ['webhooks'],
        body: Type.Ref(RotateBody),
        response: {
          200: Type.Ref(SecretView, { description: 'The new secret' }),
          409: Type.Ref('Error', {
            description:
              'WEBHOOK_SECRET is set in the configuration (`webhook_secret_configured`), or a request with this `Idempotency-Key` is still in progress',
          }),
        },
      },
    },
    async (req) => {
      const overlap = req.body?.overlapSeconds ?? ctx.config.webhooks.rotationOverlapSeconds
      const r = await secrets.rotate(overlap)
      if (r.outcome === 'configured') throw new AppError(errors.webhook_secret_configured)
      return present(r.state)
    },
  )

  app.get(
    '/webhooks/endpoints',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Webhook endpoints: those in force and those removed from the configuration',
        tags: ['webhooks'],
        response: {
          200: Type.Object(
            { data: Type.Array(Type.Ref(EndpointView)) },
            { description: 'Every endpoint, oldest first (never its secret)' },
          ),
        },
      },
    },
    async () => ({
      data: (await ctx.store.listAllEndpoints()).map((e) => ({
        id: e.id,
        url: maskUserInfo(e.url),
        status: e.enabled ? ('active' as const) : ('removed' as const),
        createdAt: new Date(e.created_at).toISOString(),
      })),
    }),
  )
}

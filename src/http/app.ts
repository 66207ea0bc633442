import Fastify, { LogController, type FastifyBaseLogger } from 'fastify'
import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { AppError, errors } from '../domain/errors.js'
import { registerAccessControl } from './access.js'
import { authRoutes, userRoutes } from './auth.routes.js'
import { createAppContext, type AppDeps } from './context.js'
import { sendClientError, sendError } from './error-handler.js'
import { consentRoutes, consentSchemas } from './consents.routes.js'
import { registerDashboard } from './dashboard.js'
import { verifyRoutes, verifySchemas } from './verify.routes.js'
import { conversationRoutes, conversationSchemas } from './conversations.routes.js'
import { eventRoutes } from './events.routes.js'
import { healthRoutes } from './health.routes.js'
import { registerIdempotency } from './idempotency.js'
import { registerJsonBody } from './json-body.js'
import { keyRoutes } from './keys.routes.js'
import { messageRoutes } from './messages.routes.js'
import { registerOpenApi } from './openapi.js'
import { privacyRoutes, privacySchemas } from './privacy.routes.js'
import { providerWebhookRoutes } from './provider-webhooks.routes.js'
import { registerRequestId, requestId } from './request-id.js'
import { namedSchemas } from './schemas.js'
import { routingRoutes, routingSchemas } from './routing.routes.js'
import { simulatorRoutes, simulatorSchemas } from './simulator.routes.js'
import { statsRoutes, statsSchemas } from './stats.routes.js'
import { templateRoutes, templateSchemas } from './templates.routes.js'
import { verifyBlockRoutes, verifyBlockSchemas } from './verify-blocks.routes.js'
import { webhookRoutes, webhookSchemas } from './webhooks.routes.js'
import { userSchemas } from './users.routes.js'

export type { AppDeps } from './context.js'

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

/** Every named schema, for both validators and the OpenAPI document (`$id` refs resolve). */
function allSchemas() {
  return [
    ...namedSchemas,
    ...webhookSchemas,
    ...routingSchemas,
    ...conversationSchemas,
    ...consentSchemas,
    ...simulatorSchemas,
    ...privacySchemas,
    ...templateSchemas,
    ...verifyBlockSchemas,
    ...verifySchemas,
    ...userSchemas,
    ...statsSchemas,
  ]
}

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: coerce ? 'array' : false,
    strict: false,
  })
  addFormats(ajv)
  // Route schemas refer to the named ones by `$id` (Type.Ref).
  for (const schema of allSchemas()) ajv.addSchema(schema)
  return ajv
}

/** Builds the HTTP app without listening (tests use `app.inject()`; main.ts listens). */
export async function buildApp(deps: AppDeps) {
  const ctx = createAppContext(deps)
  const app = Fastify({
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    // Request lines are not logged: errors are logged by the error handler (4xx at info).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.config.bodyLimit,
    genReqId: requestId,
    // While closing, the onRequest hook answers 503 service_unavailable from the registry.
    return503OnClosing: false,
    // Errors raised by the router before any route runs (a malformed percent-encoding, a path
    // parameter longer than maxParamLength) get the same registry body as every other error.
    frameworkErrors: sendError,
    clientErrorHandler: sendClientError,
  })
  // Only JSON is accepted: without this, Fastify's built-in text/plain parser lets a text body
  // through to schema validation (422) instead of answering 415 unsupported_media_type.
  app.removeContentTypeParser('text/plain')
  registerJsonBody(app)
  registerRequestId(app)

  // Bodies are validated strictly (no type coercion, unknown fields rejected); query strings
  // and params are strings on the wire, so those coerce.
  const bodyAjv = makeAjv(false)
  const queryAjv = makeAjv(true)
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : queryAjv).compile(schema),
  )

  for (const schema of allSchemas()) app.addSchema(schema)
  await registerOpenApi(app)

  const dashboardPage = registerDashboard(app)
  app.setNotFoundHandler((req, reply) => {
    if (dashboardPage(req, reply)) return
    void reply.code(404).send({
      error: {
        code: errors.route_not_found.code,
        message: `No route ${req.method} ${req.url.split('?')[0]}`,
      },
    })
  })

  app.setErrorHandler(sendError)

  app.addHook('onRequest', async () => {
    if (ctx.isShuttingDown()) throw new AppError(errors.service_unavailable)
  })
  // Routes declare their scope and whether they honour Idempotency-Key; these enforce both.
  registerAccessControl(app, ctx)
  registerIdempotency(app, ctx)

  healthRoutes(app, ctx)
  authRoutes(app, ctx)
  await app.register(
    async (v1) => {
      messageRoutes(v1, ctx)
      keyRoutes(v1, ctx)
      webhookRoutes(v1, ctx)
      routingRoutes(v1, ctx)
      conversationRoutes(v1, ctx)
      consentRoutes(v1, ctx)
      eventRoutes(v1, ctx)
      simulatorRoutes(v1, ctx)
      privacyRoutes(v1, ctx)
      templateRoutes(v1, ctx)
      verifyBlockRoutes(v1, ctx)
      verifyRoutes(v1, ctx)
      userRoutes(v1, ctx)
      statsRoutes(v1, ctx)
    },
    { prefix: '/v1' },
  )
  await app.register(async (hooks) => providerWebhookRoutes(hooks, ctx), { prefix: '/webhooks' })
  return app
}

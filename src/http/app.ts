import Fastify, { LogController, type FastifyBaseLogger } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { Logger } from 'pino'
import type { Config } from '../config.js'
import { AppError, errors } from '../domain/errors.js'
import { InFlightKeys } from '../domain/idempotency/idempotency.js'
import type { SmsProvider } from '../providers/provider.js'
import type { ReportSink } from '../queue/report.ingestor.js'
import type { Submission, SubmissionResult } from '../store/rows.js'
import type { Store } from '../store/store.js'
import { Authenticator } from './auth.js'
import { sendClientError, sendError } from './error-handler.js'
import { healthRoutes } from './health.routes.js'
import { registerJsonBody } from './json-body.js'
import { keyRoutes } from './keys.routes.js'
import { messageRoutes } from './messages.routes.js'
import { providerWebhookRoutes } from './provider-webhooks.routes.js'
import { registerRequestId, requestId } from './request-id.js'
import { ErrorBody, Message } from './schemas.js'

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

export interface AppDeps {
  config: Config
  store: Store
  logger: Logger
  /** Group-commit intake: resolves once the submission is durably stored. */
  submit: (sub: Submission) => Promise<SubmissionResult>
  providers: ReadonlyMap<string, SmsProvider>
  /** Provider webhook events go here (the background thread's ingestor in role all). */
  reports: ReportSink
  isShuttingDown: () => boolean
  now?: () => number
}

export interface AppContext extends AppDeps {
  now: () => number
  auth: Authenticator
  inFlight: InFlightKeys
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
  return ajv
}

/** Builds the HTTP app without listening (tests use `app.inject()`; main.ts listens). */
export async function buildApp(deps: AppDeps) {
  const ctx: AppContext = {
    ...deps,
    now: deps.now ?? Date.now,
    auth: new Authenticator(deps.store, deps.now ?? Date.now),
    inFlight: new InFlightKeys(),
  }
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

  app.addSchema(ErrorBody)
  app.addSchema(Message)

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Switchboard API',
        version: '1',
        description:
          'Send SMS through one API, track delivery and receive signed status webhooks. Errors are always `{ "error": { "code", "message", "details"? } }`; the codes are listed in docs/errors.md.',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearerAuth: [] }],
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })

  app.setNotFoundHandler((req, reply) => {
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

  healthRoutes(app, ctx)
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger())
  await app.register(
    async (v1) => {
      messageRoutes(v1, ctx)
      keyRoutes(v1, ctx)
    },
    { prefix: '/v1' },
  )
  await app.register(async (hooks) => providerWebhookRoutes(hooks, ctx), { prefix: '/webhooks' })
  return app
}

import type { Socket } from 'node:net'
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
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
import { healthRoutes } from './health.routes.js'
import { keyRoutes } from './keys.routes.js'
import { messageRoutes } from './messages.routes.js'
import { providerWebhookRoutes } from './provider-webhooks.routes.js'
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
    requestIdHeader: 'x-request-id',
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

/** Answers an error with its registry status and `{ error: { code, message, details? } }`. */
function sendError(err: FastifyError | AppError, req: FastifyRequest, reply: FastifyReply): void {
  const body = toErrorBody(err)
  if (body.status >= 500) req.log.error({ err, reqId: req.id }, 'request failed')
  else req.log.info({ code: body.error.code, status: body.status }, 'request rejected')
  if (body.status === 429 && body.retryAfter) void reply.header('retry-after', body.retryAfter)
  void reply.code(body.status).send({ error: body.error })
}

/**
 * Requests Node's HTTP parser rejects before Fastify sees them (a control character or a space in
 * a header, a broken request line, headers over the size limit, a request that never finished)
 * get the registry body too; Fastify's default answers `{"error":"Bad Request",...}`.
 */
function sendClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const { code, message } = errors.invalid_request
  const body = JSON.stringify({
    error: { code, message, details: { reason: err.code ?? 'malformed HTTP request' } },
  })
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 400 Bad Request\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy(err)
}

interface MappedError {
  status: number
  error: { code: string; message: string; details?: unknown }
  retryAfter?: string
}

function toErrorBody(err: FastifyError | AppError): MappedError {
  if (err instanceof AppError) {
    return {
      status: err.status,
      error: {
        code: err.code,
        message: err.message,
        ...(err.details === undefined ? {} : { details: err.details }),
      },
    }
  }
  const e = err
  if (e.validation) {
    return {
      status: errors.validation_failed.status,
      error: {
        code: errors.validation_failed.code,
        message:
          `Invalid ${e.validationContext ?? 'request'}: ${e.validation[0]?.instancePath || '/'} ${e.validation[0]?.message ?? ''}`.trim(),
        details: e.validation.map((v) => ({
          in: e.validationContext,
          path: v.instancePath,
          message: v.message,
          ...(v.keyword === 'additionalProperties'
            ? { property: (v.params as { additionalProperty?: string }).additionalProperty }
            : {}),
        })),
      },
    }
  }
  const byFastifyCode: Record<string, (typeof errors)[keyof typeof errors]> = {
    FST_ERR_CTP_INVALID_JSON_BODY: errors.invalid_json,
    FST_ERR_CTP_EMPTY_JSON_BODY: errors.invalid_json,
    FST_ERR_CTP_BODY_TOO_LARGE: errors.payload_too_large,
    FST_ERR_CTP_INVALID_MEDIA_TYPE: errors.unsupported_media_type,
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: errors.invalid_request,
    FST_ERR_CTP_INVALID_TYPE: errors.unsupported_media_type,
    FST_ERR_BAD_URL: errors.invalid_request,
    FST_ERR_MAX_PARAM_LENGTH: errors.invalid_request,
    FST_ERR_ASYNC_CONSTRAINT: errors.invalid_request,
  }
  const def = byFastifyCode[e.code] ?? (e instanceof SyntaxError ? errors.invalid_json : undefined)
  if (def) return { status: def.status, error: { code: def.code, message: def.message } }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return {
      status: 400,
      error: { code: errors.invalid_request.code, message: errors.invalid_request.message },
    }
  }
  return {
    status: 500,
    error: { code: errors.internal_error.code, message: errors.internal_error.message },
  }
}

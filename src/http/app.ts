import type { Socket } from 'node:net'
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { AppError, errors } from '../domain/errors.js'
import { registerAccessControl } from './access.js'
import { createAppContext, type AppDeps } from './context.js'
import { healthRoutes } from './health.routes.js'
import { registerIdempotency } from './idempotency.js'
import { keyRoutes } from './keys.routes.js'
import { messageRoutes } from './messages.routes.js'
import { registerOpenApi } from './openapi.js'
import { providerWebhookRoutes } from './provider-webhooks.routes.js'
import { namedSchemas } from './schemas.js'
import { webhookRoutes, webhookSchemas } from './webhooks.routes.js'

export type { AppDeps } from './context.js'

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

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
  for (const schema of [...namedSchemas, ...webhookSchemas]) ajv.addSchema(schema)
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

  for (const schema of [...namedSchemas, ...webhookSchemas]) app.addSchema(schema)
  await registerOpenApi(app)

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
  // Routes declare their scope and whether they honour Idempotency-Key; these enforce both.
  registerAccessControl(app, ctx)
  registerIdempotency(app, ctx)

  healthRoutes(app, ctx)
  await app.register(
    async (v1) => {
      messageRoutes(v1, ctx)
      keyRoutes(v1, ctx)
      webhookRoutes(v1, ctx)
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
  if (body.status === 401) void reply.header('www-authenticate', 'Bearer')
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

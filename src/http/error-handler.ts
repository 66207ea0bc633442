import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import { validationDetails } from './validation-details.js'

/** Answers an error with its registry status and `{ error: { code, message, details? } }`. */
export function sendError(
  err: FastifyError | AppError,
  req: FastifyRequest,
  reply: FastifyReply,
): void {
  const body = toErrorBody(err)
  if (body.status >= 500) req.log.error({ err, reqId: req.id }, 'request failed')
  else req.log.info({ code: body.error.code, status: body.status }, 'request rejected')
  void reply.header('x-request-id', req.id)
  if (body.status === 429 && body.retryAfter) void reply.header('retry-after', body.retryAfter)
  if (body.status === 401) void reply.header('www-authenticate', 'Bearer')
  void reply.code(body.status).send({ error: body.error })
}

/**
 * Requests Node's HTTP parser rejects before Fastify sees them (a control character or a space in
 * a header, a broken request line, headers over the size limit, a request that never finished)
 * get the registry body too; Fastify's default answers `{"error":"Bad Request",...}`.
 */
export function sendClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const { code, message } = errors.invalid_request
  const body = JSON.stringify({
    error: { code, message, details: { reason: err.code ?? 'malformed HTTP request' } },
  })
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 400 Bad Request\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nX-Request-Id: ${randomUUID()}\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy(err)
}

interface MappedError {
  status: number
  error: { code: string; message: string; details?: unknown }
  retryAfter?: string
}

export function toErrorBody(err: FastifyError | AppError): MappedError {
  if (err instanceof AppError) {
    return {
      status: err.status,
      error: {
        code: err.code,
        message: err.message,
        ...(err.details === undefined ? {} : { details: err.details }),
      },
      ...(err.retryAfterSeconds === undefined ? {} : { retryAfter: String(err.retryAfterSeconds) }),
    }
  }
  const e = err
  if (e.validation) {
    const details = validationDetails(e.validation, e.validationContext)
    const first = details[0]
    return {
      status: errors.validation_failed.status,
      error: {
        code: errors.validation_failed.code,
        message:
          `Invalid ${e.validationContext ?? 'request'}: ${first?.path || '/'} ${first?.message ?? ''}`.trim(),
        details,
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

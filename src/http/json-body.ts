import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import { parseJsonText } from './json-text.js'

/** `charset=utf-8` (or `utf8`, any case, quoted or not) is the only charset parameter allowed. */
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i

function charsetProblem(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType.length <= 16) return false // 'application/json'
  const m = CHARSET.exec(contentType)
  if (!m) return false
  const charset = (m[1] ?? '').toLowerCase()
  return charset !== 'utf-8' && charset !== 'utf8'
}

function parseBody(req: FastifyRequest, raw: Buffer): unknown {
  if (charsetProblem(req.headers['content-type'])) {
    throw new AppError(errors.unsupported_media_type, { reason: 'charset must be utf-8' })
  }
  const r = parseJsonText(raw)
  if (r.ok) return r.value
  // A route without a body schema (cancel, revoke) takes an empty JSON body as no body.
  if (r.problem.reason === 'empty' && req.routeOptions.schema?.body === undefined) return undefined
  throw new AppError(errors.invalid_json, r.problem.reason === 'syntax' ? undefined : r.problem)
}

/**
 * Replaces Fastify's JSON parser with the strict one (`parseJsonText`): bodies must be UTF-8,
 * declared as such when a charset is given, and free of duplicate keys.
 */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, raw, done) => {
    try {
      done(null, parseBody(req, raw as Buffer))
    } catch (err) {
      done(err as Error, undefined)
    }
  })
}

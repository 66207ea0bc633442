import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify'

/** Why each error status can happen, as the document describes it. */
const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed request: body not valid JSON (`invalid_json`), a bad `Idempotency-Key` (`invalid_idempotency_key`) or another malformed part (`invalid_request`)',
  401: 'No valid API key (`unauthorized`); answered before anything else about the request is checked',
  403: 'The API key lacks the scope this operation needs (`insufficient_scope`)',
  404: 'No such resource (`not_found`)',
  409: 'Conflict with the resource state or a request still in progress with this `Idempotency-Key`',
  413: 'The request body is larger than `BODY_LIMIT_BYTES` (`payload_too_large`)',
  415: 'The body is not `application/json` (`unsupported_media_type`)',
  422: 'The request failed validation; `error.code` says how (see docs/errors.md)',
  500: 'Unexpected server error (`internal_error`); the `x-request-id` header identifies it in the logs',
  503: 'The server is shutting down or not ready (`service_unavailable`)',
}

const errorResponse = (status: number) => ({
  $ref: 'Error',
  description: ERROR_DESCRIPTIONS[status] ?? 'Error',
})

/**
 * The error statuses an operation can answer, from what it declares: a scope (401, 403), a
 * body (400, 413, 415, 422), parameters (422; a path id also 404), `Idempotency-Key`
 * (400, 409, 422), and what every operation can answer (500, 503). Statuses a route lists
 * itself (a 409 for a state conflict) are kept.
 */
export function errorStatuses(route: Pick<RouteOptions, 'schema' | 'config' | 'method'>): number[] {
  const schema: FastifySchema = route.schema ?? {}
  const out = new Set<number>([500, 503])
  if (route.config?.scope !== undefined) [401, 403].forEach((s) => out.add(s))
  if (schema.body !== undefined || route.method === 'POST') {
    ;[400, 413, 415, 422].forEach((s) => out.add(s))
  }
  if (schema.querystring !== undefined || schema.params !== undefined) out.add(422)
  if (schema.params !== undefined) out.add(404)
  if (route.config?.idempotent) [400, 409, 422].forEach((s) => out.add(s))
  return [...out].sort((a, b) => a - b)
}

/**
 * Gives each request body the first example of its (referenced) schema as the body's own
 * example: that is what /docs pre-fills and sends with "Try it out".
 */
function addBodyExamples<T extends object>(document: T): T {
  const doc = document as {
    components?: { schemas?: unknown }
    paths?: Record<string, Record<string, unknown> | undefined>
  }
  const schemas = (doc.components?.schemas ?? {}) as Record<string, { examples?: unknown[] }>
  for (const item of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(item ?? {}) as { requestBody?: unknown }[]) {
      const body = op?.requestBody as
        { content?: Record<string, { schema?: { $ref?: string }; example?: unknown }> } | undefined
      for (const media of Object.values(body?.content ?? {})) {
        const name = media.schema?.$ref?.replace('#/components/schemas/', '')
        const example = name === undefined ? undefined : schemas[name]?.examples?.[0]
        if (example !== undefined && media.example === undefined) media.example = example
      }
    }
  }
  return document
}

/**
 * The OpenAPI 3.1 document at /openapi.json and the browsable docs at /docs, generated from
 * the schemas that validate requests. Named component schemas keep their `$id`; every
 * operation lists the errors it can give and, when it honours one, the `Idempotency-Key`
 * header.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Switchboard API',
        version: '1',
        description:
          'Send SMS through one API, track delivery and receive signed status webhooks. Authenticate with `Authorization: Bearer sb_live_...`. Errors are always `{ "error": { "code", "message", "details"? } }`; the codes are listed in docs/errors.md. Every response carries `x-request-id`.',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
      },
    },
    refResolver: {
      buildLocalReference(json, _baseUri, _fragment, i) {
        return typeof json.$id === 'string' ? json.$id : `Schema${i}`
      },
    },
    transformObject: (documents) =>
      'openapiObject' in documents
        ? addBodyExamples(documents.openapiObject)
        : documents.swaggerObject,
    transform: ({ schema, url, route }) => {
      if (!schema || schema.hide) return { schema, url }
      const statuses = errorStatuses(route)
      const response = { ...(schema.response as Record<string, unknown> | undefined) }
      for (const s of statuses) response[String(s)] ??= errorResponse(s)
      const idempotent = route.config?.idempotent === true
      const headers = idempotent
        ? {
            type: 'object',
            properties: {
              'idempotency-key': {
                type: 'string',
                minLength: 1,
                maxLength: 255,
                description:
                  'Makes retries safe: the same key with the same payload replays the first answer (header `Idempotent-Replayed: true`) for 24 hours; with another payload it is 422 `idempotency_key_reused`.',
              },
            },
          }
        : schema.headers
      const scoped = route.config?.scope !== undefined
      return {
        schema: {
          ...schema,
          response,
          ...(headers ? { headers } : {}),
          ...(scoped ? { security: [{ bearerAuth: [] }] } : { security: [] }),
        },
        url,
      }
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger())
}

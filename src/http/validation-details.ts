import type { FastifySchemaValidationError } from 'fastify'

/** One entry of `details` of `validation_failed` (documented in docs/errors.md). */
export interface ValidationDetail {
  in: string | undefined
  path: string
  message: string | undefined
  property?: string
  allowed?: unknown[]
}

/**
 * Ajv's errors as `details` entries. A union (`anyOf`) reports one error per member and then one
 * for the union; they become one entry: `must be one of: transactional, marketing` (with
 * `allowed`, as for a schema `enum`) for a union of constants, `must be string, number, boolean or null` for a union of
 * types, or the member's own error when the value had the member's type but broke another rule
 * (a metadata string longer than 1,024 characters).
 */
export function validationDetails(
  errs: readonly FastifySchemaValidationError[],
  where: string | undefined,
): ValidationDetail[] {
  const out: ValidationDetail[] = []
  const pending: FastifySchemaValidationError[] = []
  for (const e of errs) {
    if (e.keyword !== 'anyOf') {
      pending.push(e)
      continue
    }
    const prefix = `${e.schemaPath}/`
    const members = pending.filter((m) => m.schemaPath.startsWith(prefix))
    const others = pending.filter((m) => !m.schemaPath.startsWith(prefix))
    pending.length = 0
    pending.push(...others, merged(e, members))
  }
  for (const e of pending) {
    const d: ValidationDetail = { in: where, path: e.instancePath, message: e.message }
    if (e.keyword === 'additionalProperties') {
      d.property = (e.params as { additionalProperty?: string }).additionalProperty
    }
    // A schema `enum` and a union of constants read the same.
    const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues
    if (e.keyword === 'enum' && allowed) {
      d.message = oneOf(allowed)
      d.allowed = allowed
    }
    out.push(d)
  }
  return out
}

const oneOf = (allowed: unknown[]) => `must be one of: ${allowed.map(String).join(', ')}`

/** The errors of a union's members as one `enum`-like or type error. */
function merged(
  union: FastifySchemaValidationError,
  members: FastifySchemaValidationError[],
): FastifySchemaValidationError {
  const own = members.find((m) => m.keyword !== 'const' && m.keyword !== 'type')
  if (own) return own
  const allowed = members
    .filter((m) => m.keyword === 'const')
    .map((m) => (m.params as { allowedValue?: unknown }).allowedValue)
  if (allowed.length > 0) {
    return {
      ...union,
      keyword: 'enum',
      params: { allowedValues: allowed },
      message: oneOf(allowed),
    }
  }
  const types = members.map((m) => String((m.params as { type?: unknown }).type))
  const list = types.length > 1 ? `${types.slice(0, -1).join(', ')} or ${types.at(-1)}` : types[0]
  return { ...union, keyword: 'type', params: { type: types }, message: `must be ${list}` }
}

/**
 * Checks requests and answers against Twilio's published OpenAPI document of the Messages
 * resource (twilio-messages.openapi.json: an unchanged excerpt of twilio_api_v2010.json, see
 * its `info.description`), plus the rules Twilio states only in the parameters' descriptions.
 */
import { readFileSync } from 'node:fs'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default

export const MESSAGES_PATH = '/2010-04-01/Accounts/{AccountSid}/Messages.json'

interface Schema {
  type?: string
  items?: Schema
  properties?: Record<string, Schema>
  $ref?: string
}

export const TWILIO_MESSAGES_OPENAPI = JSON.parse(
  readFileSync(new URL('./twilio-messages.openapi.json', import.meta.url), 'utf8'),
) as {
  paths: Record<
    string,
    {
      post: {
        requestBody: { content: Record<string, { schema: Schema }> }
        responses: Record<string, { content: Record<string, { schema: Schema }> }>
      }
    }
  >
  components: { schemas: Record<string, Schema> }
}

const post = TWILIO_MESSAGES_OPENAPI.paths[MESSAGES_PATH]?.post
if (!post) throw new Error('the excerpt has no Create Message operation')
const FORM = 'application/x-www-form-urlencoded'
const requestSchema = post.requestBody.content[FORM]?.schema
if (!requestSchema?.properties) throw new Error('the excerpt has no form request schema')
const requestProperties = requestSchema.properties

const ajv = new Ajv({ strict: false, allErrors: true, coerceTypes: true })
addFormats(ajv)
// Twilio's own formats: `phone-number` also takes channel addresses and alphanumeric senders.
ajv.addFormat('phone-number', /^(\+[1-9]\d{1,14}|[a-z]+:.+|[A-Za-z0-9 ]{1,11})$/)
ajv.addFormat('date-time-rfc-2822', {
  validate: (s: string) =>
    /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/.test(s) &&
    !Number.isNaN(Date.parse(s)),
})
ajv.addFormat('currency', /^[A-Z]{3}$/)
ajv.addFormat('uri-map', true)
for (const [name, schema] of Object.entries(TWILIO_MESSAGES_OPENAPI.components.schemas)) {
  ajv.addSchema(schema, `#/components/schemas/${name}`)
}
const validateRequest: ValidateFunction = ajv.compile(requestSchema)
const resourceSchema = post.responses['201']?.content['application/json']?.schema
if (!resourceSchema) throw new Error('the excerpt has no 201 answer')
const validateResource: ValidateFunction = ajv.compile(resourceSchema)

const problems = (v: ValidateFunction): string[] =>
  (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`)

/**
 * Problems of a Create Message form as sent: against the spec's request schema (types,
 * patterns, formats; a parameter the spec does not list, which Twilio would ignore, is a
 * problem too) and the rules in its descriptions: `From` or `MessagingServiceSid`, `Body` up to
 * 1600 characters, `ValidityPeriod` from 1 to 36000.
 */
export function createMessageProblems(form: URLSearchParams): string[] {
  const out: string[] = []
  const value: Record<string, unknown> = {}
  for (const key of new Set(form.keys())) {
    const prop = requestProperties[key]
    if (!prop) {
      out.push(`${key} is not a parameter of Create Message`)
      continue
    }
    value[key] =
      prop.type === 'array'
        ? form.getAll(key)
        : form.getAll(key).length === 1
          ? form.get(key)
          : form.getAll(key)
  }
  if (!validateRequest(value)) out.push(...problems(validateRequest))
  if (!form.has('From') && !form.has('MessagingServiceSid'))
    out.push('From or MessagingServiceSid is required')
  if ((form.get('Body') ?? '').length > 1600) out.push('Body is longer than 1600 characters')
  const vp = form.get('ValidityPeriod')
  if (vp !== null && !(/^\d+$/.test(vp) && Number(vp) >= 1 && Number(vp) <= 36000)) {
    out.push(`ValidityPeriod ${vp} is not an integer from 1 to 36000`)
  }
  return out
}

/** Problems of a 201 answer's body against the spec's message resource. */
export function messageResourceProblems(body: unknown): string[] {
  return validateResource(body) ? [] : problems(validateResource)
}

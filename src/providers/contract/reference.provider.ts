/**
 * A reference adapter for a small, fictional gateway API that has everything the contract
 * suite checks (a unicode flag, our reference, a callback URL, one id per part, GET and POST
 * callbacks signed over URL and body, inbound SMS, batches). It exists only to prove the suite:
 * the suite passes on it, and each `defect` is a realistic bug one check must catch
 * (src/providers/contract.case.test.ts). Test code only: not in the registry, not built.
 *
 * API: `POST {baseUrl}/v1/sms` JSON `{ to, from?, text, unicode, reference, callback }` with
 * `Authorization: Bearer {apiKey}`, answered `201 { ids: [...] }` or `4xx/5xx { error }`.
 * Callbacks carry `x-ref-timestamp` and `x-ref-signature: hex HMAC-SHA256(secret,
 * "{timestamp}.{url}.{body}")`; status by POST (a JSON array) or GET (`?id&reference&status&
 * error`), inbound by POST (form) or GET (`?id&from&to&text`, `from` without "+").
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { Agent, request } from 'undici'
import type { ConfigEntry, ProviderBase, ProviderType } from '../provider-type.js'
import {
  MalformedWebhook,
  type OutboundSms,
  type ProviderContext,
  type ProviderEvent,
  type ProviderErrorCode,
  type ReportedStatus,
  type SendResult,
  type SmsProvider,
  type WebhookOutcome,
  type WebhookRequest,
} from '../provider.js'

/** Bugs the suite must catch, one or more checks each (see contract.case.test.ts). */
export const REFERENCE_DEFECTS = [
  'drops-from',
  'no-unicode-flag',
  'empty-from',
  'no-reference',
  'inbound-url-as-callback',
  'no-keep-alive',
  'no-suppress',
  'html-500-rejected',
  'unreadable-2xx-retry',
  'empty-body-throws',
  'empty-201-accepted',
  'bad-json-throws',
  'cut-body-retry',
  'reset-retry',
  'late-abort-retry',
  '401-rejected',
  '403-rejected',
  'key-revoked-rejected',
  'timeout-retry',
  'abort-retry',
  'ignores-aborted-signal',
  'refused-unknown',
  'first-id-only',
  'unknown-word-delivered',
  'inbound-from-raw',
  'batch-first-only',
  'malformed-type-error',
  'unsigned-throws',
  'post-only',
  'sign-without-query',
  'signature-prefix-compare',
  'sign-without-body',
  'sign-path-only',
  'shared-secret',
  'inbound-answer-json',
  'status-answer-200',
  'verify-always',
] as const
export type ReferenceDefect = (typeof REFERENCE_DEFECTS)[number]

export interface ReferenceOptions {
  name: string
  baseUrl: string
  apiKey: string
  /** Signs callbacks. */
  secret: string
  ctx: ProviderContext
  defects?: readonly ReferenceDefect[]
}

export const SIGNATURE_HEADER = 'x-ref-signature'
export const TIMESTAMP_HEADER = 'x-ref-timestamp'
const SKEW_MS = 5 * 60_000

/**
 * The signing rule, shared by the reference harness (as the provider's "SDK") and the adapter.
 * The `sign-*` defects weaken the scheme on both sides, as a provider whose scheme leaves
 * something unsigned would: the suite's tamper checks must notice.
 */
export function signReference(
  secret: string,
  url: string,
  rawBody: Buffer,
  nowMs = Date.now(),
  defects: readonly ReferenceDefect[] = [],
): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000))
  let signedUrl = url
  if (defects.includes('sign-without-query')) signedUrl = url.split('?')[0] ?? url
  if (defects.includes('sign-path-only')) signedUrl = url.replace(new URL(url).origin, '')
  const body = defects.includes('sign-without-body') ? Buffer.alloc(0) : rawBody
  const mac = createHmac('sha256', secret).update(`${timestamp}.${signedUrl}.`).update(body)
  return { [SIGNATURE_HEADER]: mac.digest('hex'), [TIMESTAMP_HEADER]: timestamp }
}

const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT'])
const WORDS: Record<string, { status: ReportedStatus; errorCode?: ProviderErrorCode } | null> = {
  queued: null,
  accepted: { status: 'sent' },
  delivered: { status: 'delivered' },
  undelivered: { status: 'undelivered', errorCode: 'undeliverable' },
  failed: { status: 'failed', errorCode: 'carrier_error' },
}
const ERROR_CODES: Record<string, ProviderErrorCode> = {
  blocked: 'blocked_by_carrier',
  unknown_subscriber: 'invalid_number',
}

let cachedSecret: string | undefined

function networkCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
    e = e.cause
  }
  return undefined
}

function header(req: WebhookRequest, name: string): string | undefined {
  const v = req.headers[name]
  return typeof v === 'string' ? v : undefined
}

export function createReferenceProvider(o: ReferenceOptions): SmsProvider {
  const bug = (d: ReferenceDefect): boolean => o.defects?.includes(d) ?? false
  const secret = bug('shared-secret') ? (cachedSecret ??= o.secret) : o.secret
  let agent: Agent | undefined

  const classify = (status: number, text: string, retryAfter: string | undefined): SendResult => {
    let body: { ids?: unknown; error?: unknown } | undefined
    if (bug('empty-body-throws') && text === '') JSON.parse(text)
    if (bug('bad-json-throws') && text !== '') JSON.parse(text)
    try {
      body = JSON.parse(text) as typeof body
    } catch {
      body = undefined
    }
    if (status >= 200 && status < 300) {
      const ids = Array.isArray(body?.ids)
        ? body.ids.filter((x): x is string => typeof x === 'string')
        : []
      const [first, ...rest] = ids
      if (first)
        return {
          outcome: 'accepted',
          providerMessageIds: bug('first-id-only') ? [first] : [first, ...rest],
        }
      if (bug('empty-201-accepted') && status === 201)
        return { outcome: 'accepted', providerMessageIds: ['unknown'] }
      if (bug('unreadable-2xx-retry')) return { outcome: 'retry', code: 'provider_unavailable' }
      return { outcome: 'unknown', code: 'provider_outcome_unknown' }
    }
    const auth = { outcome: 'retry', code: 'provider_auth_failed', fault: 'instance' } as const
    if (status === 401)
      return bug('401-rejected') ? { outcome: 'rejected', code: 'provider_rejected' } : auth
    if (status === 403)
      return bug('403-rejected') ? { outcome: 'rejected', code: 'provider_rejected' } : auth
    if (status === 429) {
      const after = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : undefined
      return {
        outcome: 'retry',
        code: 'provider_rate_limited',
        ...(after !== undefined ? { after } : {}),
      }
    }
    if (status >= 500) {
      if (bug('html-500-rejected') && body === undefined)
        return { outcome: 'rejected', code: 'provider_rejected' }
      return { outcome: 'retry', code: 'provider_unavailable' }
    }
    switch (body?.error) {
      case 'key_revoked':
        return bug('key-revoked-rejected')
          ? { outcome: 'rejected', code: 'provider_rejected' }
          : auth
      case 'invalid_number':
        return { outcome: 'rejected', code: 'invalid_number' }
      case 'opted_out':
        return bug('no-suppress')
          ? { outcome: 'rejected', code: 'recipient_opted_out' }
          : { outcome: 'rejected', code: 'recipient_opted_out', suppress: true }
      default:
        return { outcome: 'rejected', code: 'provider_rejected' }
    }
  }

  const send = async (sms: OutboundSms, signal: AbortSignal): Promise<SendResult> => {
    if (signal.aborted && !bug('ignores-aborted-signal'))
      return { outcome: 'retry', code: 'provider_timeout' }
    const payload: Record<string, unknown> = {
      to: sms.to,
      text: sms.body,
      unicode: bug('no-unicode-flag') ? false : sms.encoding === 'UCS-2',
      callback: bug('inbound-url-as-callback')
        ? o.ctx.callbackUrls.inbound
        : o.ctx.callbackUrls.status,
    }
    if (sms.from !== null && !bug('drops-from')) payload.from = sms.from
    if (sms.from === null && bug('empty-from')) payload.from = ''
    if (!bug('no-reference')) payload.reference = sms.id
    const dispatcher = bug('no-keep-alive')
      ? new Agent({ pipelining: 0 })
      : (agent ??= new Agent({ keepAliveTimeout: 10_000 }))
    let status: number | undefined
    let answer: { text: string; retryAfter: string | undefined }
    try {
      const res = await request(`${o.baseUrl}/v1/sms`, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${o.apiKey}` },
        body: JSON.stringify(payload),
        signal: bug('ignores-aborted-signal') ? undefined : signal,
      })
      status = res.statusCode
      const retryAfter = res.headers['retry-after']
      answer = {
        text: await res.body.text(),
        retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
      }
    } catch (error) {
      const code = networkCode(error)
      if (code !== undefined && NOT_CONNECTED.has(code)) {
        return bug('refused-unknown')
          ? { outcome: 'unknown', code: 'provider_outcome_unknown' }
          : { outcome: 'retry', code: 'provider_connection_error' }
      }
      const retry = { outcome: 'retry', code: 'provider_timeout' } as const
      const why = signal.aborted ? (signal.reason as Error | undefined)?.name : undefined
      if (status !== undefined && why !== undefined && bug('late-abort-retry')) return retry
      if (status !== undefined && why === undefined && bug('cut-body-retry')) return retry
      if (status === undefined && why === undefined && bug('reset-retry')) return retry
      if (status === undefined && why === 'TimeoutError' && bug('timeout-retry')) return retry
      if (status === undefined && why === 'AbortError' && bug('abort-retry')) return retry
      return { outcome: 'unknown', code: 'provider_outcome_unknown' }
    } finally {
      if (bug('no-keep-alive')) await dispatcher.close()
    }
    return classify(status, answer.text, answer.retryAfter)
  }

  const verify = (req: WebhookRequest): boolean => {
    if (bug('unsigned-throws')) header(req, SIGNATURE_HEADER)!.toString()
    const signature = header(req, SIGNATURE_HEADER)
    const timestamp = header(req, TIMESTAMP_HEADER)
    if (signature === undefined || timestamp === undefined || !/^\d{1,12}$/.test(timestamp))
      return false
    if (bug('verify-always')) return true
    if (Math.abs(o.ctx.now() - Number(timestamp) * 1000) > SKEW_MS) return false
    const at = Number(timestamp) * 1000
    const expected =
      signReference(secret, req.url, req.rawBody, at, o.defects)[SIGNATURE_HEADER] ?? ''
    if (bug('signature-prefix-compare')) return expected.slice(0, 8) === signature.slice(0, 8)
    const a = Buffer.from(expected, 'hex')
    const b = Buffer.from(signature, 'hex')
    return a.length === b.length && a.length > 0 && timingSafeEqual(a, b)
  }

  const statusEvent = (r: Record<string, unknown>): ProviderEvent | undefined => {
    if (bug('malformed-type-error')) (r.id as string).toString()
    if (typeof r.id !== 'string' || r.id === '' || typeof r.status !== 'string') return undefined
    const known = Object.hasOwn(WORDS, r.status)
      ? WORDS[r.status]
      : bug('unknown-word-delivered')
        ? { status: 'delivered' as const }
        : null
    if (!known) return undefined
    const event: ProviderEvent = {
      type: 'status',
      providerMessageId: r.id,
      status: known.status,
      at: o.ctx.now(),
    }
    if (typeof r.reference === 'string' && r.reference !== '') event.messageId = r.reference
    const code = typeof r.error === 'string' ? ERROR_CODES[r.error] : undefined
    if (code ?? known.errorCode) event.errorCode = code ?? known.errorCode
    return event
  }

  const inboundEvent = (p: URLSearchParams): ProviderEvent => {
    const id = p.get('id')
    const from = p.get('from')
    const to = p.get('to')
    const text = p.get('text')
    if (!id || !from || !to || text === null)
      throw new MalformedWebhook('inbound without id, from, to or text')
    return {
      type: 'inbound',
      providerMessageId: id,
      from: bug('inbound-from-raw') ? from : `+${from}`,
      to,
      body: text,
      at: o.ctx.now(),
    }
  }

  return {
    name: o.name,
    type: 'contract-reference',
    deduplicates: false,
    send,
    async stop() {
      await agent?.close()
      agent = undefined
    },
    handleWebhook(req: WebhookRequest): WebhookOutcome {
      if (req.method !== 'GET' && req.method !== 'POST') return { verified: false }
      if (req.method === 'GET' && bug('post-only')) return { verified: false }
      if (!verify(req)) return { verified: false }
      const query = new URL(req.url).searchParams
      if (req.kind === 'inbound') {
        const params =
          req.method === 'GET' ? query : new URLSearchParams(req.rawBody.toString('utf8'))
        const answer = bug('inbound-answer-json')
          ? { status: 200, contentType: 'application/json', body: '{}' }
          : { status: 200, contentType: 'text/plain', body: 'OK' }
        return { verified: true, events: [inboundEvent(params)], answer }
      }
      if (req.kind !== 'status') return { verified: true, events: [] }
      let items: unknown
      if (req.method === 'GET') items = [Object.fromEntries(query)]
      else {
        try {
          items = JSON.parse(req.rawBody.toString('utf8'))
        } catch {
          throw new MalformedWebhook('status callback body is not JSON')
        }
      }
      if (!Array.isArray(items)) throw new MalformedWebhook('status callback body is not an array')
      const list = bug('batch-first-only') ? items.slice(0, 1) : items
      const events = list
        .flatMap((i) =>
          typeof i === 'object' && i !== null ? [statusEvent(i as Record<string, unknown>)] : [],
        )
        .filter((e): e is ProviderEvent => e !== undefined)
      return bug('status-answer-200')
        ? { verified: true, events, answer: { status: 200, contentType: 'text/plain', body: 'OK' } }
        : { verified: true, events }
    },
  }
}

/** Settings of a reference instance (`"type": "contract-reference"`, test-only). */
export interface ReferenceSettings extends ProviderBase {
  readonly baseUrl: string
  readonly apiKey: string
  readonly secret: string
  readonly defects: readonly ReferenceDefect[]
}

/** The reference type, for the route checks (registered at run time by its test only). */
export const referenceType: ProviderType<ReferenceSettings> = {
  parse: (e: ConfigEntry, base: ProviderBase): ReferenceSettings => ({
    ...base,
    baseUrl: e.baseUrl('https://gateway.reference.invalid'),
    apiKey: e.str('apiKey', { required: true }),
    secret: e.str('secret', { required: true }),
    defects: e.json<ReferenceDefect[]>('defects', [], (v) =>
      Array.isArray(v) ? undefined : 'must be an array',
    ),
  }),
  describe: (c) => ({ baseUrl: c.baseUrl }),
  callbackAuth: () => 'signature',
  create: (c, ctx) =>
    createReferenceProvider({
      name: c.name,
      baseUrl: c.baseUrl,
      apiKey: c.apiKey,
      secret: c.secret,
      ctx,
      defects: c.defects,
    }),
}

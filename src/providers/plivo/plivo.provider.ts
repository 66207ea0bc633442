import { Agent, request, type Dispatcher } from 'undici'
import {
  MalformedWebhook,
  type CallbackUrls,
  type OutboundSms,
  type SendResult,
  type SmsProvider,
  type WebhookOutcome,
  type WebhookRequest,
} from '../provider.js'
import { classifyAnswer, type PlivoAnswer } from './plivo-answer.js'
import { parseParams, verifyPlivoSignature } from './plivo-signature.js'
import { parseInbound, parseStatusCallback } from './plivo-webhook.js'

export const PLIVO_API = 'https://api.plivo.com'

export interface PlivoProviderOptions {
  name: string
  authId: string
  authToken: string
  /** Default {@link PLIVO_API}; a local server that speaks the same API in tests. */
  baseUrl?: string
  /** Sends messages without a sender through this Powerpack (Plivo picks the number). */
  powerpackUuid?: string | undefined
  callbackUrls: CallbackUrls
  now?: () => number
  /** Alternative HTTP pool; by default a keep-alive undici Agent of `connections`. */
  dispatcher?: Dispatcher
  connections?: number
  /** Connecting longer than this is a failure before sending (safe to retry). Default 5000. */
  connectTimeoutMs?: number
}

/** Largest answer body read; Plivo's answers are a few hundred bytes. */
const MAX_BODY_BYTES = 64 * 1024
/** Plivo's `message_expiry` bounds, in seconds (its default is 10,800: three hours). */
const EXPIRY_MIN_S = 5
const EXPIRY_MAX_S = 10_799

/** Errors raised before the request could be written: nothing reached Plivo. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED',
])

/** Network error code (`ECONNREFUSED`, `UND_ERR_SOCKET`...) of an undici error or its cause. */
function networkCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^[\w.-]{1,64}$/.test(code)) return code
    e = e.cause
  }
  return undefined
}

/** Reads at most MAX_BODY_BYTES; undefined when the body ends early or cannot be read. */
async function readBody(body: Dispatcher.ResponseData['body']): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        body.destroy()
        return undefined
      }
      chunks.push(chunk)
    }
  } catch {
    return undefined
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Plivo Message API adapter: one JSON POST per message to `/v1/Account/{auth_id}/Message/`
 * with basic auth over a keep-alive pool, classified in {@link classifyAnswer}; status and
 * inbound callbacks verified by X-Plivo-Signature-V2/V3 and parsed into events.
 *
 * @example
 * const plivo = createPlivoProvider({ name: 'plivo', authId, authToken, callbackUrls })
 */
export function createPlivoProvider(opts: PlivoProviderOptions): SmsProvider {
  const { name, authId, authToken, callbackUrls, now = Date.now } = opts
  const endpoint = `${(opts.baseUrl ?? PLIVO_API).replace(/\/+$/, '')}/v1/Account/${encodeURIComponent(authId)}/Message/`
  const authorization = `Basic ${Buffer.from(`${authId}:${authToken}`).toString('base64')}`
  let agent: Agent | undefined
  const dispatcher = (): Dispatcher =>
    opts.dispatcher ??
    (agent ??= new Agent({
      connections: opts.connections ?? 64,
      keepAliveTimeout: 4_000,
      connect: { timeout: opts.connectTimeoutMs ?? 5_000 },
    }))

  /** The documented request: `src` or `powerpack_uuid`, `dst`, `text`, the status `url`. */
  const payload = (sms: OutboundSms): Record<string, string | number> => {
    const body: Record<string, string | number> = {}
    if (sms.from !== null) body.src = sms.from
    else if (opts.powerpackUuid) body.powerpack_uuid = opts.powerpackUuid
    body.dst = sms.to
    body.text = sms.body
    body.type = 'sms'
    body.url = callbackUrls.status
    body.method = 'POST'
    // Plivo drops a message still queued after its expiry (ErrorCode 420), as we would.
    const left = Math.floor((sms.validUntil - now()) / 1000)
    if (left <= EXPIRY_MAX_S) body.message_expiry = Math.max(EXPIRY_MIN_S, left)
    return body
  }

  const post = async (sms: OutboundSms, signal: AbortSignal): Promise<PlivoAnswer> => {
    try {
      const res = await request(endpoint, {
        method: 'POST',
        dispatcher: dispatcher(),
        headers: {
          authorization,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify(payload(sms)),
        signal,
      })
      const retryAfter = res.headers['retry-after']
      const body = await readBody(res.body)
      // undici frees the connection a macrotask after the body ends: a send that follows at
      // once would open another connection instead of reusing this one.
      await new Promise((resolve) => setImmediate(resolve))
      return {
        kind: 'http',
        status: res.statusCode,
        retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        body,
      }
    } catch (error) {
      const code = networkCode(error)
      if (!signal.aborted && code !== undefined && NOT_SENT.has(code)) {
        return { kind: 'not_sent', detail: code }
      }
      // Aborted, reset or timed out once connected: the request may have been taken.
      return { kind: 'no_answer', detail: signal.aborted ? 'aborted' : code }
    }
  }

  return {
    name,
    type: 'plivo',
    deduplicates: false,
    async send(sms: OutboundSms, signal: AbortSignal): Promise<SendResult> {
      if (signal.aborted) return { outcome: 'retry', code: 'provider_timeout' }
      if (sms.from === null && !opts.powerpackUuid) {
        return {
          outcome: 'rejected',
          code: 'provider_rejected',
          message: 'Plivo needs a sender: the message from, a route sender or powerpackUuid',
        }
      }
      return classifyAnswer(await post(sms, signal), now())
    },
    async stop(): Promise<void> {
      const closing = agent
      agent = undefined
      await closing?.close()
    },
    /** Status callbacks and inbound SMS, by POST (form) or GET (query), signed V2 and/or V3. */
    handleWebhook(req: WebhookRequest): WebhookOutcome {
      const method = req.method.toUpperCase()
      const query = /\?([^#]*)/.exec(req.url)?.[1] ?? ''
      const params = parseParams(method === 'GET' ? query : req.rawBody.toString('utf8'))
      const signed = verifyPlivoSignature(authToken, {
        method,
        url: req.url,
        headers: req.headers,
        params: method === 'GET' ? new Map() : params,
      })
      if (!signed) return { verified: false }
      if (req.kind === 'status')
        return { verified: true, events: [parseStatusCallback(params, now())] }
      if (req.kind === 'inbound') return { verified: true, events: parseInbound(params, now()) }
      throw new MalformedWebhook(`no Plivo callback of kind ${req.kind}`)
    },
  }
}

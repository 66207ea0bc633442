import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { analyzeBody } from '../../domain/messages/encoding.js'
import {
  deliverCallback,
  signCallback,
  vonageScts,
  vonageTimestamp,
  type CallbackResult,
  type CallbackSigning,
  type VonageWebhookFormat,
} from './vonage-fake-callbacks.js'
import { signVonageParams, MAX_SIGNATURE_SKEW_MS, sameSecret } from './vonage-signature.js'

/**
 * What the server answers a send with, instead of accepting it:
 * - `status`: a Vonage status (HTTP 200), for every part, or from part `atPart` on;
 * - `http`: that HTTP status with a raw body (an HTML error page, nothing...);
 * - `truncated`: HTTP 200 with the accepting JSON cut in the middle;
 * - `hang`: reads the request and never answers;
 * - `reset`: reads the request and closes the connection without answering;
 * - `drip`: HTTP 200 headers, then a few bytes of body, then nothing.
 */
export type FakeAnswer =
  | { status: string; errorText?: string; atPart?: number }
  | { http: number; body?: string; contentType?: string; headers?: Record<string, string> }
  | { truncated: true }
  | { hang: true }
  | { reset: true }
  | { drip: true }

/** A receipt a part gets: the `status` word and `err-code`. */
export interface ReceiptSpec {
  readonly status: string
  readonly errCode?: string
}

/** A request as received, credentials and parameters read the way Vonage reads them. */
export interface FakeRequest {
  readonly contentType: string
  /** `basic` (JSON + Authorization, SDK v3), `secret` (form api_secret) or `signed` (sig). */
  readonly auth: 'basic' | 'secret' | 'signed' | 'none'
  readonly params: Readonly<Record<string, string>>
  readonly headers: IncomingMessage['headers']
  /** The client's port: the same one for requests over one kept-alive connection. */
  readonly remotePort: number | undefined
}

/** One part the server accepted. */
export interface FakePart {
  readonly id: string
  readonly to: string
  readonly from: string
  readonly clientRef: string | undefined
  readonly callback: string | undefined
  readonly part: number
  readonly total: number
  readonly price: string
}

export interface VonageFakeOptions {
  readonly apiKey: string
  readonly apiSecret: string
  /** Verifies signed requests and signs every callback. */
  readonly signing?: CallbackSigning
  /** `false`: callbacks go unsigned even with `signing` (an account without signed webhooks). */
  readonly signCallbacks?: boolean
  /** How callbacks are sent. Default `POST` (form). */
  readonly webhookFormat?: VonageWebhookFormat
  /** `auto`: each part gets its receipt after `receiptDelayMs`; `manual`: only `sendReceipt`. */
  readonly receipts?: 'auto' | 'manual'
  readonly receiptDelayMs?: number
  /** The dashboard's delivery receipt URL, for sends without `callback`. */
  readonly dlrUrl?: string
  readonly pricePerPart?: string
  readonly now?: () => number
}

export interface VonageFake {
  readonly url: string
  readonly requests: FakeRequest[]
  readonly parts: FakePart[]
  readonly callbacks: CallbackResult[]
  /** Every later send to `to` (E.164 or digits) gets `answer`; `undefined` clears it. */
  steer(to: string, answer: FakeAnswer | undefined): void
  /** The next send, whatever its destination, gets `answer` (a queue). */
  next(answer: FakeAnswer): void
  /** Receipts for the parts of later sends to `to`, by part number (the last repeats). */
  planReceipts(to: string, specs: readonly ReceiptSpec[]): void
  /** Sends the receipt of one part (its planned one by default), in `format` if given. */
  sendReceipt(
    partId: string,
    spec?: ReceiptSpec,
    format?: VonageWebhookFormat,
  ): Promise<CallbackResult>
  /** Sends an inbound SMS callback with Vonage's fields around `fields` (signed when set). */
  sendInbound(
    url: string,
    fields: Record<string, string>,
    format?: VonageWebhookFormat,
  ): Promise<CallbackResult>
  close(): Promise<void>
}

const digits = (to: string): string => to.replace(/^\+/, '')

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** Params and credentials of `POST /sms/json`, JSON with Basic auth or a form. */
function parseSend(req: IncomingMessage, raw: string): FakeRequest {
  const contentType = req.headers['content-type'] ?? ''
  const params: Record<string, string> = {}
  let auth: FakeRequest['auth'] = 'none'
  if (contentType.includes('json')) {
    try {
      for (const [k, v] of Object.entries(JSON.parse(raw) as Record<string, unknown>)) {
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
          params[k] = String(v)
        }
      }
    } catch {
      // An unreadable body is a request without parameters.
    }
  } else {
    for (const [k, v] of new URLSearchParams(raw)) params[k] = v
  }
  const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')
  if (basic?.[1]) {
    const [key, ...secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':')
    params.api_key ??= key ?? ''
    params.api_secret ??= secret.join(':')
    auth = 'basic'
  } else if (params.sig !== undefined) auth = 'signed'
  else if (params.api_secret !== undefined) auth = 'secret'
  return { contentType, auth, params, headers: req.headers, remotePort: req.socket.remotePort }
}

/**
 * A local server that speaks the Vonage SMS API (`POST /sms/json`) over keep-alive: checks
 * credentials (api_key/api_secret form, JSON + Basic as the v3 SDK sends, or signed requests),
 * answers one entry per part like the real one, can be steered per destination or for the
 * next request, and sends one delivery receipt per part to the request's `callback`.
 *
 * @example
 * const fake = await startVonageFake({ apiKey: 'abcd1234', apiSecret: 's3cret' })
 * fake.steer('+447700900001', { status: '1', errorText: 'Throughput Rate Exceeded' })
 */
export async function startVonageFake(o: VonageFakeOptions): Promise<VonageFake> {
  const now = o.now ?? Date.now
  const format = o.webhookFormat ?? 'POST'
  const requests: FakeRequest[] = []
  const parts: FakePart[] = []
  const callbacks: CallbackResult[] = []
  const steering = new Map<string, FakeAnswer>()
  const queue: FakeAnswer[] = []
  const plans = new Map<string, readonly ReceiptSpec[]>()
  const timers = new Set<NodeJS.Timeout>()
  const callbackSigning = o.signCallbacks === false ? undefined : o.signing
  let balance = 100

  const refuse = (status: string, errorText: string): Record<string, unknown> => ({
    'message-count': '1',
    messages: [{ status, 'error-text': errorText }],
  })

  /** Vonage's own checks, in its order: credentials, signature, parameters. */
  const check = (r: FakeRequest): Record<string, unknown> | undefined => {
    const p = r.params
    if (p.sig !== undefined && p.api_secret !== undefined) {
      return refuse('32', 'Signature and API secret disallowed')
    }
    if (p.api_key !== o.apiKey) return refuse('4', 'Bad Credentials')
    if (p.sig !== undefined) {
      const fresh = Math.abs(now() - Number(p.timestamp) * 1000) <= MAX_SIGNATURE_SKEW_MS
      const expected = o.signing && signVonageParams(p, o.signing.secret, o.signing.method)
      if (!expected || !fresh || expected.toLowerCase() !== p.sig.toLowerCase()) {
        return refuse('14', 'Invalid Signature')
      }
    } else if (!sameSecret(p.api_secret, o.apiSecret)) return refuse('4', 'Bad Credentials')
    for (const key of ['from', 'to', 'text']) {
      if (!p[key]) return refuse('2', `Missing ${key}`)
    }
    if (!/^\d{7,15}$/.test(p.to ?? '')) return refuse('3', 'Invalid to address')
    if ((p['client-ref']?.length ?? 0) > 40) return refuse('3', 'Invalid client-ref')
    if ((p.callback?.length ?? 0) > 100) return refuse('23', 'Invalid Callback Url')
    return undefined
  }

  const receiptParams = (part: FakePart, spec: ReceiptSpec): Record<string, string> => {
    const at = now()
    const params: Record<string, string> = {
      msisdn: part.to,
      to: part.from,
      'network-code': '23410',
      messageId: part.id,
      price: part.price,
      status: spec.status,
      scts: vonageScts(at),
      'err-code': spec.errCode ?? (spec.status === 'delivered' ? '0' : '1'),
      'api-key': o.apiKey,
      'message-timestamp': vonageTimestamp(at),
    }
    if (part.clientRef !== undefined) params['client-ref'] = part.clientRef
    return callbackSigning ? signCallback(params, callbackSigning, at) : params
  }

  const sendReceipt = async (
    partId: string,
    spec?: ReceiptSpec,
    as: VonageWebhookFormat = format,
  ): Promise<CallbackResult> => {
    const part = parts.find((p) => p.id === partId)
    if (!part) throw new Error(`no part ${partId}`)
    const url = part.callback ?? o.dlrUrl
    if (!url) throw new Error(`part ${partId} has no callback URL`)
    const planned = plans.get(part.to)
    const chosen = spec ??
      planned?.[Math.min(part.part, planned.length) - 1] ?? { status: 'delivered' }
    const result = await deliverCallback(url, receiptParams(part, chosen), as)
    callbacks.push(result)
    return result
  }

  const accept = (p: Record<string, string>, failAt?: FakeAnswer): Record<string, unknown> => {
    const total = analyzeBody(p.text ?? '').segments
    const price = o.pricePerPart ?? '0.03330000'
    const messages: Record<string, string>[] = []
    const fail = failAt && 'status' in failAt ? failAt : undefined
    for (let n = 1; n <= total; n++) {
      if (fail && n >= (fail.atPart ?? 1)) {
        messages.push({ status: fail.status, 'error-text': fail.errorText ?? 'Refused' })
        continue
      }
      const part: FakePart = {
        id: randomBytes(8).toString('hex').toUpperCase(),
        to: p.to ?? '',
        from: p.from ?? '',
        clientRef: p['client-ref'],
        callback: p.callback,
        part: n,
        total,
        price,
      }
      parts.push(part)
      balance -= Number(price)
      const entry: Record<string, string> = {
        to: part.to,
        'message-id': part.id,
        status: '0',
        'remaining-balance': balance.toFixed(8),
        'message-price': price,
        network: '23410',
      }
      if (part.clientRef !== undefined) entry['client-ref'] = part.clientRef
      messages.push(entry)
      if ((o.receipts ?? 'auto') === 'auto' && (part.callback ?? o.dlrUrl)) {
        const timer = setTimeout(() => {
          timers.delete(timer)
          void sendReceipt(part.id)
        }, o.receiptDelayMs ?? 5)
        timers.add(timer)
      }
    }
    return { 'message-count': String(messages.length), messages }
  }

  const answer = (res: ServerResponse, r: FakeRequest): void => {
    const json = (status: number, body: unknown): void => {
      const text = JSON.stringify(body)
      res.writeHead(status, { 'content-type': 'application/json' }).end(text)
    }
    const refused = check(r)
    if (refused) return json(200, refused)
    const steer = queue.shift() ?? steering.get(r.params.to ?? '')
    if (steer === undefined || ('status' in steer && (steer.atPart ?? 1) > 1)) {
      return json(200, accept(r.params, steer))
    }
    if ('status' in steer) {
      return json(200, refuse(steer.status, steer.errorText ?? 'Refused'))
    }
    if ('http' in steer) {
      const headers = { 'content-type': steer.contentType ?? 'text/html', ...steer.headers }
      res.writeHead(steer.http, headers).end(steer.body ?? '')
      return
    }
    if ('truncated' in steer) {
      const text = JSON.stringify(accept(r.params)).slice(0, 40)
      res.writeHead(200, { 'content-type': 'application/json' }).end(text)
      return
    }
    if ('reset' in steer) {
      res.socket?.destroy()
      return
    }
    if ('drip' in steer) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' })
      res.write('{"message-count":')
    }
    // hang, or a drip that never finishes: held until the client gives up or the server closes.
  }

  const server = createServer({ keepAlive: true }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'POST' || path !== '/sms/json') {
      res.writeHead(404, { 'content-type': 'text/html' }).end('<html>Not Found</html>')
      return
    }
    readBody(req).then(
      (raw) => {
        const r = parseSend(req, raw)
        requests.push(r)
        answer(res, r)
      },
      () => res.destroy(),
    )
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    parts,
    callbacks,
    steer: (to, a) => (a === undefined ? steering.delete(digits(to)) : steering.set(digits(to), a)),
    next: (a) => queue.push(a),
    planReceipts: (to, specs) => plans.set(digits(to), specs),
    sendReceipt,
    async sendInbound(url, fields, as = format) {
      const at = now()
      const params: Record<string, string> = {
        messageId: randomBytes(8).toString('hex').toUpperCase(),
        type: 'text',
        keyword: (fields.text ?? '').split(' ')[0]?.toUpperCase() ?? '',
        'api-key': o.apiKey,
        'message-timestamp': vonageTimestamp(at),
        ...fields,
      }
      const result = await deliverCallback(
        url,
        callbackSigning ? signCallback(params, callbackSigning, at) : params,
        as,
      )
      callbacks.push(result)
      return result
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t)
        timers.clear()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

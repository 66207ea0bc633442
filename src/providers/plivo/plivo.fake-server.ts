/**
 * A local server that speaks Plivo's Message API, for tests (127.0.0.1 only, never shipped):
 * `POST /v1/Account/{auth_id}/Message/` with basic auth and Plivo's documented JSON body,
 * answered `202 {api_id, message, message_uuid}` or steered per destination or per request
 * (error statuses, HTML, hangs, resets, slow drip); status callbacks per part to the request's
 * `url`, and inbound messages, signed V2 and V3 as Plivo signs them.
 */
import { randomInt, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { Agent, request } from 'undici'
import { analyzeBody } from '../../domain/messages/encoding.js'
import { signV2, signV3, type Params } from './plivo-signature.js'

export type FakeAnswer =
  | { kind: 'accept' }
  | {
      kind: 'http'
      status: number
      body?: string
      contentType?: string
      headers?: Record<string, string>
    }
  /** Reads the request and never answers (a timeout after the request was written). */
  | { kind: 'hang' }
  /** Reads the request and closes the connection without an answer. */
  | { kind: 'destroy' }
  /** Sends the status and headers, then the body a byte at a time. */
  | { kind: 'drip'; status: number; body: string; everyMs: number }

/** What the callbacks of an accepted message report; `part` fails one part (1-based). */
export type FakeDelivery =
  | { status: 'delivered' }
  | { status: 'undelivered' | 'failed'; errorCode: string; part?: number }
  | { status: 'none' }

export interface FakeRule {
  answer?: FakeAnswer
  delivery?: FakeDelivery
  /** Builds and signs the message's callbacks but keeps them in `held` until `resend`. */
  hold?: boolean
}

export interface FakeRequest {
  method: string
  path: string
  headers: IncomingMessage['headers']
  /** The parsed JSON body, or undefined when it was not JSON. */
  json: Record<string, unknown> | undefined
  /** Plivo's answer status (0 when it never answered). */
  status: number
}

/** A callback as built and signed, before it is sent. */
export type SignedCallback = Omit<FakeCallback, 'answer'>

export interface FakeCallback {
  kind: 'status' | 'inbound'
  url: string
  method: 'GET' | 'POST'
  headers: Record<string, string>
  /** Form body (POST) or empty (GET: the parameters are in the URL). */
  body: string
  params: Record<string, string>
  /** The receiver's answer status (0 when it could not be reached). */
  answer: number
}

export interface PlivoFakeOptions {
  authId: string
  authToken: string
  /** Charge per SMS unit in callbacks (USD). Default `0.00500`. */
  rate?: string
  /** Which signatures callbacks carry. Default both. */
  sign?: 'v2' | 'v3' | 'both'
  /** Long messages reported part by part (ParentMessageUUID, PartInfo), as one, or not at all. */
  reports?: 'parts' | 'whole' | 'none'
}

const DOCUMENTED = new Set([
  'src',
  'powerpack_uuid',
  'dst',
  'text',
  'type',
  'url',
  'method',
  'log',
  'trackable',
  'media_urls',
  'media_ids',
  'message_expiry',
  'dlt_entity_id',
  'dlt_template_id',
  'dlt_template_category',
])

/** `url` with `params` added to its query, as a GET callback arrives. */
const withQuery = (url: string, params: Record<string, string>): string =>
  `${url}${url.includes('?') ? '&' : '?'}${new URLSearchParams(params).toString()}`

const plivoTime = (ms: number): string =>
  new Date(ms).toISOString().replace('T', ' ').replace('Z', '000')
const digits = (n: string): string => n.replace(/[/\-.+() \s]/g, '')

/** Headers that sign a callback as Plivo does: V2 over the URL, V3 over URL and parameters. */
export function signCallback(
  authToken: string,
  method: 'GET' | 'POST',
  url: string,
  params: Record<string, string>,
  sign: 'v2' | 'v3' | 'both' = 'both',
): Record<string, string> {
  const headers: Record<string, string> = {}
  const nonce = (): string => String(randomInt(1e9, 1e10)) + String(randomInt(1e9, 1e10))
  if (sign !== 'v3') {
    const n = nonce()
    headers['X-Plivo-Signature-V2'] = signV2(authToken, url, n)
    headers['X-Plivo-Signature-Ma-V2'] = headers['X-Plivo-Signature-V2']
    headers['X-Plivo-Signature-V2-Nonce'] = n
  }
  if (sign !== 'v2') {
    const n = nonce()
    const map: Params = new Map(Object.entries(params).map(([k, v]) => [k, [v]]))
    headers['X-Plivo-Signature-V3'] = signV3(
      authToken,
      method,
      url,
      method === 'POST' ? map : new Map(),
      n,
    )
    headers['X-Plivo-Signature-Ma-V3'] = headers['X-Plivo-Signature-V3']
    headers['X-Plivo-Signature-V3-Nonce'] = n
  }
  return headers
}

/** Problems with a Message API body, as Plivo's 400 `error` would name them. */
export function checkMessageRequest(json: Record<string, unknown>): string | undefined {
  const unknown = Object.keys(json).find((k) => !DOCUMENTED.has(k))
  if (unknown !== undefined) return `unknown parameter '${unknown}'`
  const str = (k: string): string | undefined => {
    const v = json[k]
    return typeof v === 'string' ? v : undefined
  }
  if ((str('src') === undefined) === (str('powerpack_uuid') === undefined)) {
    return 'either src or powerpack_uuid is required, not both'
  }
  const dst = str('dst')
  if (dst === undefined || !/^\d{8,14}$/.test(digits(dst))) return "invalid 'dst' parameter"
  const text = str('text')
  if (text === undefined || text === '') return "'text' parameter is required"
  const { encoding } = analyzeBody(text)
  if ([...text].length > (encoding === 'GSM-7' ? 1600 : 737)) return "'text' parameter too long"
  if (json.type !== undefined && !['sms', 'mms', 'whatsapp'].includes(str('type') ?? '')) {
    return "invalid 'type' parameter"
  }
  if (json.url !== undefined && !/^https?:\/\//.test(str('url') ?? ''))
    return "invalid 'url' parameter"
  if (json.method !== undefined && json.method !== 'GET' && json.method !== 'POST') {
    return "invalid 'method' parameter"
  }
  const expiry = json.message_expiry
  if (
    expiry !== undefined &&
    !(Number.isInteger(expiry) && Number(expiry) >= 5 && Number(expiry) <= 10_799)
  ) {
    return "invalid 'message_expiry' parameter"
  }
  return undefined
}

export interface PlivoFake {
  /** Base URL to configure as the instance's `baseUrl`. */
  readonly url: string
  readonly requests: FakeRequest[]
  readonly callbacks: FakeCallback[]
  /** Callbacks of messages steered with `hold`, in the order Plivo would send them. */
  readonly held: SignedCallback[]
  /** TCP connections accepted so far (keep-alive reuses them). */
  readonly connections: () => number
  /** Rule for every request to this destination (E.164, with or without +). */
  steer(dst: string, rule: FakeRule): void
  /** Rule for the next request only (before destination rules). */
  next(rule: FakeRule): void
  /** Sends an inbound SMS to `url`, signed; resolves with the callback as sent and answered. */
  sendInbound(
    url: string,
    m: { from: string; to: string; text: string; type?: string },
  ): Promise<FakeCallback>
  /** Sends a recorded callback again, as it was or with `params` changed after signing. */
  resend(cb: SignedCallback, tamper?: Record<string, string>): Promise<FakeCallback>
  /** Resolves once every callback started so far has been answered. */
  settled(): Promise<void>
  close(): Promise<void>
}

export async function startPlivoFake(opts: PlivoFakeOptions): Promise<PlivoFake> {
  const { authId, authToken, rate = '0.00500', sign = 'both', reports = 'parts' } = opts
  const requests: FakeRequest[] = []
  const callbacks: FakeCallback[] = []
  const held: SignedCallback[] = []
  const rules = new Map<string, FakeRule>()
  const queue: FakeRule[] = []
  const pending = new Set<Promise<unknown>>()
  const sockets = new Set<Socket>()
  let connections = 0
  let closed = false
  const agent = new Agent({ keepAliveTimeout: 4_000 })

  const deliver = async (cb: SignedCallback): Promise<FakeCallback> => {
    let answer: number
    try {
      // Tests never reach the internet: callbacks go to loopback receivers only.
      if (!/^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]/.test(cb.url)) {
        throw new Error('callback URL is not a loopback address')
      }
      const target = cb.method === 'GET' ? withQuery(cb.url, cb.params) : cb.url
      const res = await request(target, {
        method: cb.method,
        dispatcher: agent,
        headers:
          cb.method === 'POST'
            ? { ...cb.headers, 'content-type': 'application/x-www-form-urlencoded' }
            : cb.headers,
        body: cb.method === 'POST' ? cb.body : undefined,
      })
      answer = res.statusCode
      await res.body.dump()
    } catch {
      answer = 0
    }
    const done = { ...cb, answer }
    callbacks.push(done)
    return done
  }

  const track = <T>(p: Promise<T>): Promise<T> => {
    pending.add(p)
    void p.finally(() => pending.delete(p))
    return p
  }

  const build = (
    kind: FakeCallback['kind'],
    url: string,
    method: 'GET' | 'POST',
    params: Record<string, string>,
  ): SignedCallback => {
    // GET signs the URL with the parameters in its query, as they arrive.
    const signedUrl = method === 'GET' ? withQuery(url, params) : url
    const headers = signCallback(
      authToken,
      method,
      signedUrl,
      method === 'POST' ? params : {},
      sign,
    )
    const body = method === 'POST' ? new URLSearchParams(params).toString() : ''
    return { kind, url, method, headers, body, params }
  }

  /** queued → sent → final for each part, in order, as Plivo reports a long message. */
  const report = async (
    json: Record<string, unknown>,
    uuid: string,
    delivery: FakeDelivery,
    hold: boolean,
  ): Promise<void> => {
    if (delivery.status === 'none' || reports === 'none' || typeof json.url !== 'string') return
    const text = String(json.text)
    const units = analyzeBody(text).segments
    const method = json.method === 'GET' ? 'GET' : 'POST'
    const parts = reports === 'parts' ? units : 1
    const ids = [uuid, ...Array.from({ length: parts - 1 }, () => randomUUID())]
    const started = Date.now()
    for (const [i, id] of ids.entries()) {
      const number = i + 1
      const fails =
        delivery.status !== 'delivered' && (delivery.part === undefined || delivery.part === number)
      const final = fails ? delivery.status : 'delivered'
      const partUnits = reports === 'parts' ? 1 : units
      const amount = (Number(rate) * partUnits).toFixed(5)
      for (const [seq, status] of (final === 'failed'
        ? ['queued', final]
        : ['sent', final]
      ).entries()) {
        if (closed) return
        const now = Date.now()
        const cb = build('status', json.url, method, {
          MessageUUID: id,
          ParentMessageUUID: uuid,
          PartInfo: `${number} of ${parts}`,
          To: digits(String(json.dst)),
          From: typeof json.src === 'string' ? digits(json.src) : '',
          PowerpackUUID: typeof json.powerpack_uuid === 'string' ? json.powerpack_uuid : '',
          Type: 'sms',
          Status: status,
          ErrorCode:
            status === 'failed' || status === 'undelivered'
              ? fails && 'errorCode' in delivery
                ? delivery.errorCode
                : ''
              : '',
          Units: String(partUnits),
          TotalRate: final === 'failed' ? '0.00000' : rate,
          TotalAmount: final === 'failed' ? '0.00000' : amount,
          MCC: '310',
          MNC: '410',
          Sequence: String(seq + 1),
          MessageTime: plivoTime(started),
          QueuedTime: plivoTime(started),
          SentTime: plivoTime(now),
          DeliveryReportTime: status === 'sent' ? '' : plivoTime(now),
          requester_ip: '127.0.0.1',
        })
        if (hold) held.push(cb)
        else await deliver(cb)
      }
    }
  }

  const answerWith = (
    res: ServerResponse,
    status: number,
    body: string,
    contentType = 'application/json',
    headers: Record<string, string> = {},
  ): void => {
    res
      .writeHead(status, {
        'content-type': contentType,
        'content-length': Buffer.byteLength(body),
        ...headers,
      })
      .end(body)
  }

  const onMessage = (
    req: IncomingMessage,
    res: ServerResponse,
    raw: Buffer,
    record: FakeRequest,
  ): number => {
    const apiId = randomUUID()
    const path = /^\/v1\/Account\/([^/]+)\/Message\/$/.exec(req.url ?? '')
    if (req.method !== 'POST' || !path) {
      answerWith(res, 404, JSON.stringify({ api_id: apiId, error: 'not found' }))
      return 404
    }
    if (decodeURIComponent(path[1] ?? '') !== authId) {
      answerWith(res, 404, JSON.stringify({ api_id: apiId, error: 'Resource not found' }))
      return 404
    }
    const expected = `Basic ${Buffer.from(`${authId}:${authToken}`).toString('base64')}`
    if (req.headers.authorization !== expected) {
      // Plivo's 401 is not JSON.
      answerWith(
        res,
        401,
        'Could not verify your access level for that URL.\nYou have to login with proper credentials',
        'text/html',
      )
      return 401
    }
    let json: Record<string, unknown> | undefined
    try {
      const v: unknown = JSON.parse(raw.toString('utf8'))
      json =
        typeof v === 'object' && v !== null && !Array.isArray(v)
          ? (v as Record<string, unknown>)
          : undefined
    } catch {
      json = undefined
    }
    if (!json || !/^application\/json/.test(req.headers['content-type'] ?? '')) {
      answerWith(res, 400, JSON.stringify({ api_id: apiId, error: 'invalid json data' }))
      return 400
    }
    record.json = json
    const problem = checkMessageRequest(json)
    if (problem !== undefined) {
      answerWith(res, 400, JSON.stringify({ api_id: apiId, error: problem }))
      return 400
    }
    const rule = { ...(rules.get(digits(String(json.dst))) ?? {}), ...(queue.shift() ?? {}) }
    const answer = rule.answer ?? { kind: 'accept' }
    switch (answer.kind) {
      case 'accept': {
        const uuid = randomUUID()
        answerWith(
          res,
          202,
          JSON.stringify({ api_id: apiId, message: 'message(s) queued', message_uuid: [uuid] }),
        )
        void track(report(json, uuid, rule.delivery ?? { status: 'delivered' }, rule.hold === true))
        return 202
      }
      case 'http':
        answerWith(res, answer.status, answer.body ?? '', answer.contentType, answer.headers)
        return answer.status
      case 'hang':
        return 0
      case 'destroy':
        req.socket.destroy()
        return 0
      case 'drip': {
        res.writeHead(answer.status, { 'content-type': 'application/json' })
        let i = 0
        const timer = setInterval(() => {
          if (i >= answer.body.length || res.destroyed) {
            clearInterval(timer)
            res.end()
            return
          }
          res.write(answer.body[i++] ?? '')
        }, answer.everyMs)
        res.on('close', () => clearInterval(timer))
        return answer.status
      }
    }
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const record: FakeRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        json: undefined,
        status: 0,
      }
      requests.push(record)
      record.status = onMessage(req, res, Buffer.concat(chunks), record)
    })
  })
  server.keepAliveTimeout = 10_000
  server.on('connection', (s: Socket) => {
    connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    requests,
    callbacks,
    held,
    connections: () => connections,
    steer: (dst, rule) => void rules.set(digits(dst), rule),
    next: (rule) => void queue.push(rule),
    sendInbound: (target, m) =>
      track(
        deliver(
          build('inbound', target, 'POST', {
            From: digits(m.from),
            To: digits(m.to),
            Text: m.text,
            Type: m.type ?? 'sms',
            MessageUUID: randomUUID(),
            Units: String(analyzeBody(m.text).segments),
            TotalRate: '0.00000',
            TotalAmount: '0.00000',
            MessageIntent: '',
            PowerpackUUID: '',
          }),
        ),
      ),
    resend: (cb, tamper) =>
      track(
        tamper
          ? deliver({
              ...cb,
              params: { ...cb.params, ...tamper },
              body: String(new URLSearchParams({ ...cb.params, ...tamper })),
            })
          : deliver(cb),
      ),
    settled: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending])
    },
    close: async () => {
      closed = true
      await Promise.allSettled([...pending])
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await agent.close()
    },
  }
}

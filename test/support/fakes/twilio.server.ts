/**
 * A local server that speaks Twilio's Messages API (127.0.0.1, keep-alive): `POST
 * /2010-04-01/Accounts/{AccountSid}/Messages.json` with basic auth answers 201 with the
 * documented message resource, or Twilio's error JSON `{code, message, more_info, status}`;
 * accepted messages get status callbacks to their `StatusCallback`, signed with the `twilio`
 * SDK's own `getExpectedTwilioSignature`. Tests steer it per destination or per next request.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js'
import { Agent, request } from 'undici'

/** What the fake answers one send with, instead of accepting it. */
export type FakeAnswer =
  | { kind: 'error'; status: number; code?: number; message?: string; retryAfter?: string }
  /** Any status with a body as given (HTML pages, empty or truncated JSON). */
  | { kind: 'raw'; status: number; body: string; contentType?: string; retryAfter?: string }
  /** Reads the request and never answers (until the fake closes). */
  | { kind: 'hang' }
  /** Reads the request, then drops the connection without a word. */
  | { kind: 'reset' }
  /** Answers the status line and part of a body, then drops the connection. */
  | { kind: 'truncate'; status: number; body: string }
  /** Answers the status line, then the body one byte per `intervalMs` (a slow drip). */
  | { kind: 'drip'; status: number; body: string; intervalMs: number }
  /** Accepts as usual (a queued answer that lets one request through). */
  | { kind: 'accept' }

/** One status callback the fake sends after acceptance. */
export interface CallbackStep {
  status: string
  errorCode?: string
}

export interface ReceivedSend {
  path: string
  headers: IncomingMessage['headers']
  rawBody: string
  form: URLSearchParams
  /** Date.now() when it was read. */
  at: number
}

export interface SentCallback {
  url: string
  params: Record<string, string>
  signature: string
  /** HTTP status our callback got, or the error that stopped it. */
  answer: number | string
}

export interface TwilioFakeOptions {
  accountSid: string
  authToken: string
  /** Callbacks for accepted messages unless steered per destination. Default sent, delivered. */
  callbacks?: CallbackStep[]
  /** Milliseconds before the first callback. Default 5. */
  callbackDelayMs?: number
  /** Keep every send and callback for inspection (tests). Default true; the bench turns it off. */
  record?: boolean
}

/** Twilio's error body for `code`. */
export function twilioError(
  status: number,
  code: number,
  message: string,
): Extract<FakeAnswer, { kind: 'error' }> {
  return { kind: 'error', status, code, message }
}

const E164 = /^\+[1-9]\d{6,14}$/

function errorBody(status: number, code: number | undefined, message: string): string {
  return JSON.stringify({
    code: code ?? null,
    message,
    more_info: code ? `https://www.twilio.com/docs/errors/${code}` : null,
    status,
  })
}

/**
 * The message resource Twilio answers a Create Message with (201), for the message `form`
 * asks for: a fresh SID, status `queued` (or `accepted` through a Messaging Service).
 */
export function messageResource(
  accountSid: string,
  form: URLSearchParams,
  sid = `SM${randomBytes(16).toString('hex')}`,
): Record<string, unknown> & { sid: string } {
  const now = new Date().toUTCString().replace('GMT', '+0000')
  const service = form.get('MessagingServiceSid')
  const body = form.get('Body') ?? ''
  const uri = `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`
  return {
    account_sid: accountSid,
    api_version: '2010-04-01',
    body,
    date_created: now,
    date_sent: null,
    date_updated: now,
    direction: 'outbound-api',
    error_code: null,
    error_message: null,
    from: form.get('From'),
    messaging_service_sid: service,
    num_media: '0',
    num_segments: String(Math.max(1, Math.ceil(body.length / 153))),
    price: null,
    price_unit: 'USD',
    sid,
    status: service ? 'accepted' : 'queued',
    subresource_uris: { media: uri.replace(/\.json$/, '/Media.json') },
    to: form.get('To'),
    uri,
  }
}

export class TwilioFake {
  url = ''
  readonly sends: ReceivedSend[] = []
  readonly callbacks: SentCallback[] = []
  /** Accepted messages in all. */
  accepted = 0
  /** TCP connections opened to the fake (keep-alive keeps this low). */
  connections = 0
  readonly #o: Required<TwilioFakeOptions>
  readonly #next: FakeAnswer[] = []
  readonly #byDestination = new Map<string, FakeAnswer>()
  readonly #reports = new Map<string, CallbackStep[]>()
  readonly #sockets = new Set<Socket>()
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #agent = new Agent({ connections: 256, keepAliveTimeout: 10_000 })
  readonly #server = createServer({ keepAliveTimeout: 30_000 }, (req, res) =>
    this.#onRequest(req, res),
  )
  #pendingCallbacks = 0
  #idle: (() => void)[] = []

  private constructor(o: TwilioFakeOptions) {
    this.#o = {
      callbacks: [{ status: 'sent' }, { status: 'delivered' }],
      callbackDelayMs: 5,
      record: true,
      ...o,
    }
    this.#server.on('connection', (s: Socket) => {
      this.connections++
      this.#sockets.add(s)
      s.on('close', () => this.#sockets.delete(s))
    })
  }

  static async start(o: TwilioFakeOptions): Promise<TwilioFake> {
    const fake = new TwilioFake(o)
    await new Promise<void>((resolve) => fake.#server.listen(0, '127.0.0.1', resolve))
    fake.url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`
    return fake
  }

  /** The next requests get these answers, in order, whatever their destination. */
  answerNext(...answers: FakeAnswer[]): void {
    this.#next.push(...answers)
  }

  /** Every send to `to` gets `answer` (until changed; `undefined` accepts again). */
  answerFor(to: string, answer: FakeAnswer | undefined): void {
    if (answer) this.#byDestination.set(to, answer)
    else this.#byDestination.delete(to)
  }

  /** The status callbacks messages to `to` get once accepted. */
  reportFor(to: string, steps: CallbackStep[]): void {
    this.#reports.set(to, steps)
  }

  /** Resolves once every callback started so far has been answered. */
  async callbacksSettled(): Promise<void> {
    if (this.#pendingCallbacks === 0) return
    await new Promise<void>((resolve) => this.#idle.push(resolve))
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t)
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
    await this.#agent.close()
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8')
      const form = new URLSearchParams(rawBody)
      if (this.#o.record) {
        this.sends.push({
          path: req.url ?? '',
          headers: req.headers,
          rawBody,
          form,
          at: Date.now(),
        })
      }
      const refusal = this.#check(req, form)
      if (refusal) return this.#answer(res, refusal)
      const steered =
        this.#next.shift() ??
        this.#byDestination.get(form.get('To') ?? '') ??
        ({ kind: 'accept' } as const)
      if (steered.kind !== 'accept') return this.#answer(res, steered)
      this.#accept(res, form)
    })
  }

  /** The refusals the real API gives a request it cannot take. */
  #check(
    req: IncomingMessage,
    form: URLSearchParams,
  ): Extract<FakeAnswer, { kind: 'error' }> | undefined {
    const { accountSid, authToken } = this.#o
    const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`
    if (req.method !== 'POST' || req.url !== `/2010-04-01/Accounts/${accountSid}/Messages.json`) {
      return twilioError(404, 20404, `The requested resource ${req.url ?? ''} was not found`)
    }
    if (req.headers.authorization !== expected) return twilioError(401, 20003, 'Authenticate')
    const to = form.get('To')
    if (!to) return twilioError(400, 21604, "A 'To' phone number is required.")
    if (!form.get('From') && !form.get('MessagingServiceSid')) {
      return twilioError(400, 21603, "A 'From' phone number is required.")
    }
    if (!form.get('Body')) return twilioError(400, 21602, 'Message body is required.')
    if (!E164.test(to))
      return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`)
    if ((form.get('Body') ?? '').length > 1600) {
      return twilioError(
        400,
        21617,
        'The concatenated message body exceeds the 1600 character limit.',
      )
    }
    return undefined
  }

  #answer(res: ServerResponse, a: Exclude<FakeAnswer, { kind: 'accept' }>): void {
    switch (a.kind) {
      case 'error':
      case 'raw': {
        const headers: Record<string, string> = {
          'content-type': a.kind === 'raw' ? (a.contentType ?? 'text/html') : 'application/json',
        }
        if (a.retryAfter !== undefined) headers['retry-after'] = a.retryAfter
        res.writeHead(a.status, headers)
        res.end(a.kind === 'raw' ? a.body : errorBody(a.status, a.code, a.message ?? 'error'))
        return
      }
      case 'hang':
        return
      case 'reset':
        res.socket?.destroy()
        return
      case 'truncate':
        res.writeHead(a.status, {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(a.body) + 100),
        })
        res.write(a.body, () => res.socket?.destroy())
        return
      case 'drip': {
        res.writeHead(a.status, {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(a.body)),
        })
        let i = 0
        const drip = setInterval(() => {
          if (i >= a.body.length || res.destroyed) {
            clearInterval(drip)
            this.#timers.delete(drip)
            res.end()
            return
          }
          res.write(a.body[i++])
        }, a.intervalMs)
        this.#timers.add(drip)
        return
      }
    }
  }

  #accept(res: ServerResponse, form: URLSearchParams): void {
    this.accepted++
    const resource = messageResource(this.#o.accountSid, form)
    const sid = resource.sid
    res.writeHead(201, { 'content-type': 'application/json' })
    res.end(JSON.stringify(resource))
    const callbackUrl = form.get('StatusCallback')
    const steps = this.#reports.get(form.get('To') ?? '') ?? this.#o.callbacks
    if (callbackUrl && steps.length > 0) {
      this.#pendingCallbacks++
      const timer = setTimeout(() => {
        this.#timers.delete(timer)
        void this.#report(callbackUrl, sid, form, steps).finally(() => this.#callbackDone())
      }, this.#o.callbackDelayMs)
      this.#timers.add(timer)
    }
  }

  #callbackDone(): void {
    if (--this.#pendingCallbacks > 0) return
    for (const resolve of this.#idle.splice(0)) resolve()
  }

  /**
   * Sends a recorded callback again (a replay), with `changes` to its parameters under the
   * original signature (tampering); resolves with the HTTP status it got.
   */
  async resend(cb: SentCallback, changes: Record<string, string> = {}): Promise<number> {
    const res = await request(cb.url, {
      method: 'POST',
      dispatcher: this.#agent,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': cb.signature,
      },
      body: new URLSearchParams({ ...cb.params, ...changes }).toString(),
    })
    await res.body.dump()
    return res.statusCode
  }

  /**
   * An inbound SMS to `url` (the number's "A message comes in" webhook), signed as Twilio
   * signs it: a form POST, or a GET with the parameters in the query (signed as a URL alone).
   */
  async inbound(
    url: string,
    message: { From: string; To: string; Body: string; MessageSid?: string },
    method: 'POST' | 'GET' = 'POST',
  ): Promise<{
    status: number
    contentType: string
    body: string
    params: Record<string, string>
  }> {
    const sid = message.MessageSid ?? `SM${randomBytes(16).toString('hex')}`
    const params: Record<string, string> = {
      AccountSid: this.#o.accountSid,
      ApiVersion: '2010-04-01',
      Body: message.Body,
      From: message.From,
      MessageSid: sid,
      NumMedia: '0',
      NumSegments: '1',
      SmsMessageSid: sid,
      SmsSid: sid,
      SmsStatus: 'received',
      To: message.To,
    }
    const target =
      method === 'GET'
        ? `${url}${url.includes('?') ? '&' : '?'}${new URLSearchParams(params).toString()}`
        : url
    const signature = getExpectedTwilioSignature(
      this.#o.authToken,
      target,
      method === 'GET' ? {} : params,
    )
    const res = await request(target, {
      method,
      dispatcher: this.#agent,
      headers: {
        'x-twilio-signature': signature,
        ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(method === 'POST' ? { body: new URLSearchParams(params).toString() } : {}),
    })
    const contentType = String(res.headers['content-type'] ?? '')
    return { status: res.statusCode, contentType, body: await res.body.text(), params }
  }

  /** Each step in turn, as Twilio reports a message's progress. */
  async #report(
    url: string,
    sid: string,
    form: URLSearchParams,
    steps: CallbackStep[],
  ): Promise<void> {
    for (const step of steps) {
      const params: Record<string, string> = {
        AccountSid: this.#o.accountSid,
        ApiVersion: '2010-04-01',
        From: form.get('From') ?? '+15005550006',
        MessageSid: sid,
        MessageStatus: step.status,
        SmsSid: sid,
        SmsStatus: step.status,
        To: form.get('To') ?? '',
      }
      const service = form.get('MessagingServiceSid')
      if (service) params.MessagingServiceSid = service
      if (step.errorCode) params.ErrorCode = step.errorCode
      const signature = getExpectedTwilioSignature(this.#o.authToken, url, params)
      let answer: number | string
      try {
        const res = await request(url, {
          method: 'POST',
          dispatcher: this.#agent,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-twilio-signature': signature,
            'user-agent': 'TwilioProxy/1.1',
          },
          body: new URLSearchParams(params).toString(),
        })
        await res.body.dump()
        answer = res.statusCode
      } catch (err) {
        answer = (err as Error).message
      }
      if (this.#o.record) this.callbacks.push({ url, params, signature, answer })
    }
  }
}

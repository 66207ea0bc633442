/**
 * The shared provider contract against the Twilio adapter: sends go to a steerable upstream
 * whose unsteered answers come from the local Twilio-speaking server (which refuses what the
 * real Messages API refuses), every request read back is held to Twilio's published OpenAPI
 * document of the Messages resource, and every callback is signed by the `twilio` SDK and
 * checked with its `validateRequest` before the adapter sees it.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after } from 'node:test'
import { getExpectedTwilioSignature, validateRequest } from 'twilio/lib/webhooks/webhooks.js'
import { request } from 'undici'
import { createMessageProblems } from '../../../test/support/fakes/twilio-openapi.js'
import { messageResource, TwilioFake } from '../../../test/support/fakes/twilio.server.js'
import {
  contractContext,
  runProviderContract,
  type CallbackOptions,
  type ContractHarness,
  type ErrorCase,
  type StatusCase,
  type WebhookMethod,
} from '../contract.case.js'
import type { WebhookRequest } from '../provider.js'
import { startUpstream, type RawAnswer, type TestUpstream } from '../test-upstream.js'
import { TWILIO_ERROR_CODES } from './twilio-errors.js'
import { EMPTY_TWIML, REF_PARAM } from './twilio-webhook.js'
import { twilioType, type TwilioSettings } from './twilio.type.js'

const hex = (bytes: number) => randomBytes(bytes).toString('hex')
const ACCOUNT = { accountSid: `AC${'a1'.repeat(16)}`, authToken: 'contract-token-a' }
const OTHER = { accountSid: `AC${'b2'.repeat(16)}`, authToken: 'contract-token-b' }
const SERVICE = `MG${'c3'.repeat(16)}`
const FORM = 'application/x-www-form-urlencoded'
const JSON_TYPE = { 'content-type': 'application/json' }
const newSid = () => `SM${hex(16)}`

let shared: Promise<{ fake: TwilioFake; upstream: TestUpstream }> | undefined
/** The Twilio-speaking server behind a steerable upstream, shared by the checks. */
function gateway(): Promise<{ fake: TwilioFake; upstream: TestUpstream }> {
  shared ??= (async () => {
    // No callbacks from the fake here: the suite builds each callback itself.
    const fake = await TwilioFake.start({ ...ACCOUNT, callbacks: [] })
    const upstream = await startUpstream({
      fallback: async (req): Promise<RawAnswer> => {
        const res = await request(`${fake.url}${req.path}`, {
          method: 'POST',
          headers: {
            'content-type': req.headers['content-type'] ?? '',
            authorization: req.headers.authorization ?? '',
          },
          body: req.rawBody,
        })
        return { status: res.statusCode, headers: JSON_TYPE, body: await res.body.text() }
      },
    })
    return { fake, upstream }
  })()
  return shared
}
after(async () => {
  if (!shared) return
  const { fake, upstream } = await shared
  await upstream.close()
  await fake.close()
})

const twilioError = (status: number, code: number, message: string): RawAnswer => ({
  status,
  headers: JSON_TYPE,
  body: JSON.stringify({
    code,
    message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  }),
})

/** Every Twilio code Switchboard lists, answered as Twilio answers them (HTTP 400). */
const CODE_ROWS: ErrorCase[] = Object.entries(TWILIO_ERROR_CODES)
  .filter(([code]) => code.startsWith('2'))
  .map(([code, meaning]) => ({
    title: `${code} as a 400`,
    answer: twilioError(400, Number(code), `Twilio error ${code}`),
    expect: meaning.suppress
      ? { outcome: 'rejected', code: meaning.code, suppress: true }
      : { outcome: 'rejected', code: meaning.code },
  }))

const ERRORS: ErrorCase[] = [
  ...CODE_ROWS,
  {
    title: '20429 Too Many Requests with Retry-After: 3',
    answer: {
      ...twilioError(429, 20429, 'Too Many Requests'),
      headers: { ...JSON_TYPE, 'retry-after': '3' },
    },
    expect: { outcome: 'retry', code: 'provider_rate_limited', after: 3000 },
  },
  {
    title: '20429 without Retry-After waits a second',
    answer: twilioError(429, 20429, 'Too Many Requests'),
    expect: { outcome: 'retry', code: 'provider_rate_limited', after: 1000 },
  },
  {
    title: '429 from a proxy with an HTTP-date Retry-After in the past',
    answer: { status: 429, headers: { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }, body: '' },
    expect: { outcome: 'retry', code: 'provider_rate_limited', after: 0 },
  },
  {
    title: '20005 account not active',
    answer: twilioError(401, 20005, 'Account not active'),
    expect: { outcome: 'retry', code: 'provider_account_error', fault: 'instance' },
  },
  {
    title: '20500 internal server error',
    answer: twilioError(500, 20500, 'Internal Server Error'),
    expect: { outcome: 'retry', code: 'provider_unavailable' },
  },
  {
    title: '503 with Retry-After: 5',
    answer: {
      ...twilioError(503, 20503, 'Service Unavailable'),
      headers: { ...JSON_TYPE, 'retry-after': '5' },
    },
    expect: { outcome: 'retry', code: 'provider_unavailable', after: 5000 },
  },
  {
    title: '502 HTML from a proxy',
    answer: { status: 502, headers: { 'content-type': 'text/html' }, body: '<h1>Bad Gateway</h1>' },
    expect: { outcome: 'retry', code: 'provider_unavailable' },
  },
  {
    title: '408 request timeout',
    answer: { status: 408, body: '' },
    expect: { outcome: 'retry', code: 'provider_timeout' },
  },
  {
    title: '400 with an undocumented code',
    answer: twilioError(400, 21999, 'Something else'),
    expect: { outcome: 'rejected', code: 'provider_rejected' },
  },
  {
    title: '400 as an HTML page',
    answer: { status: 400, headers: { 'content-type': 'text/html' }, body: '<h1>Bad Request</h1>' },
    expect: { outcome: 'rejected', code: 'provider_rejected' },
  },
  {
    title: '302 redirect (not the API)',
    answer: { status: 302, headers: { location: 'https://www.twilio.com/' }, body: '' },
    expect: { outcome: 'retry', code: 'provider_unavailable', fault: 'instance' },
  },
]

/** Every documented MessageStatus, then every listed ErrorCode with each negative word. */
const STATUSES: StatusCase[] = [
  { word: 'accepted', expect: 'not_final' },
  { word: 'scheduled', expect: 'not_final' },
  { word: 'queued', expect: 'not_final' },
  { word: 'sending', expect: 'not_final' },
  { word: 'sent', expect: 'not_final' },
  { word: 'delivered', expect: { status: 'delivered' } },
  { word: 'read', expect: { status: 'delivered' } },
  { word: 'undelivered', expect: { status: 'undelivered', errorCode: 'undeliverable' } },
  { word: 'failed', expect: { status: 'failed', errorCode: 'provider_rejected' } },
  { word: 'canceled', expect: { status: 'failed', errorCode: 'provider_rejected' } },
  { word: 'partially_delivered', expect: 'not_final' },
  { word: 'receiving', expect: 'not_final' },
  { word: 'received', expect: 'not_final' },
  {
    word: 'undelivered',
    errorCode: '39999',
    expect: { status: 'undelivered', errorCode: 'undeliverable' },
  },
  ...Object.entries(TWILIO_ERROR_CODES).flatMap(([code, e]): StatusCase[] => [
    { word: 'undelivered', errorCode: code, expect: { status: 'undelivered', errorCode: e.code } },
    { word: 'failed', errorCode: code, expect: { status: 'failed', errorCode: e.code } },
  ]),
]

/** A callback as Twilio sends it: a signed form POST, or a GET signed over its URL alone. */
function callback(
  kind: 'status' | 'inbound',
  url: string,
  method: WebhookMethod,
  params: Record<string, string>,
  token: string,
): WebhookRequest {
  const form = new URLSearchParams(params).toString()
  const full = method === 'GET' ? `${url}${url.includes('?') ? '&' : '?'}${form}` : url
  const signed = method === 'POST' ? params : {}
  const signature = getExpectedTwilioSignature(token, full, signed)
  // The oracle: Twilio's SDK accepts what the harness hands the adapter.
  assert.ok(validateRequest(token, signature, full, signed), 'SDK: validateRequest')
  const headers: Record<string, string> = { 'x-twilio-signature': signature }
  if (method === 'POST') headers['content-type'] = FORM
  return { kind, url: full, method, headers, rawBody: Buffer.from(method === 'POST' ? form : '') }
}

/** The URL Twilio calls back: the StatusCallback we registered, our reference included. */
const withRef = (url: string, messageId: string) =>
  `${url}${url.includes('?') ? '&' : '?'}${REF_PARAM}=${encodeURIComponent(messageId)}`

runProviderContract('twilio', async ({ name }): Promise<ContractHarness> => {
  const { upstream } = await gateway()
  const ctx = contractContext(name)
  const otherCtx = contractContext('contract-b')
  const settings = (o: { baseUrl?: string; alternate?: boolean } = {}): TwilioSettings => ({
    name: o.alternate ? 'contract-b' : name,
    type: 'twilio',
    mps: undefined,
    ...(o.alternate ? OTHER : ACCOUNT),
    messagingServiceSid: SERVICE,
    baseUrl: o.baseUrl ?? upstream.url,
  })
  const create = (o: { baseUrl?: string; alternate?: boolean } = {}) =>
    twilioType.create(settings(o), o.alternate ? otherCtx : ctx)
  const who = (o?: CallbackOptions) => ({
    urls: o?.target?.callbackUrls ?? (o?.alternate ? otherCtx : ctx).callbackUrls,
    account: o?.alternate ? OTHER : ACCOUNT,
  })
  const statusParams = (account: string, sid: string, word: string, errorCode?: string) => ({
    AccountSid: account,
    ApiVersion: '2010-04-01',
    From: '+15017122661',
    MessageSid: sid,
    MessageStatus: word,
    MessagingServiceSid: SERVICE,
    SmsSid: sid,
    SmsStatus: word,
    To: '+15558675310',
    ...(errorCode ? { ErrorCode: errorCode } : {}),
    ...(word === 'delivered' || word === 'undelivered' ? { RawDlrDoneDate: '2612011200' } : {}),
  })
  const inboundParams = (account: string, from: string, to: string, body: string) => {
    const sid = newSid()
    return {
      AccountSid: account,
      ApiVersion: '2010-04-01',
      Body: body,
      From: from,
      MessageSid: sid,
      MessagingServiceSid: SERVICE,
      NumMedia: '0',
      NumSegments: '1',
      SmsMessageSid: sid,
      SmsSid: sid,
      SmsStatus: 'received',
      To: to,
    }
  }
  const signedStatus = (params: Record<string, string>) =>
    callback(
      'status',
      withRef(ctx.callbackUrls.status, 'msg_malformed'),
      'POST',
      params,
      ACCOUNT.authToken,
    )
  const signedInbound = (params: Record<string, string>) =>
    callback('inbound', ctx.callbackUrls.inbound, 'POST', params, ACCOUNT.authToken)
  const {
    MessageSid: _a,
    SmsSid: _b,
    ...noSid
  } = statusParams(ACCOUNT.accountSid, newSid(), 'delivered')
  const {
    MessageStatus: _c,
    SmsStatus: _d,
    ...noStatus
  } = statusParams(ACCOUNT.accountSid, newSid(), 'delivered')
  const fullInbound = inboundParams(ACCOUNT.accountSid, '+447700900123', '+14155550100', 'hi')
  const { From: _e, ...noFrom } = fullInbound
  const { To: _f, ...noTo } = fullInbound
  const { MessageSid: _g, SmsSid: _h, SmsMessageSid: _i, ...noInboundSid } = fullInbound

  return {
    provider: create(),
    ctx,
    createProvider: create,
    upstream,
    read: (req) => {
      assert.equal(req.method, 'POST')
      assert.equal(req.path, `/2010-04-01/Accounts/${ACCOUNT.accountSid}/Messages.json`)
      assert.equal(
        req.headers.authorization,
        `Basic ${Buffer.from(`${ACCOUNT.accountSid}:${ACCOUNT.authToken}`).toString('base64')}`,
      )
      const form = new URLSearchParams(req.rawBody.toString('utf8'))
      assert.deepEqual(
        createMessageProblems(form),
        [],
        "a request Twilio's OpenAPI document allows",
      )
      // StatusCallback is the status URL with our reference appended: read back apart.
      const callbackUrl = form.get('StatusCallback') ?? undefined
      const m = callbackUrl ? /^(.*)[?&]ref=([^&]*)$/.exec(callbackUrl) : null
      if (!form.has('From')) assert.equal(form.get('MessagingServiceSid'), SERVICE)
      return {
        to: form.get('To') ?? '',
        from: form.get('From') ?? undefined,
        body: form.get('Body') ?? '',
        unicode: 'auto',
        reference: m?.[2] === undefined ? undefined : decodeURIComponent(m[2]),
        callbackUrl: m?.[1] ?? callbackUrl,
        contentType: FORM,
      }
    },
    accepted: () => {
      const sid = newSid()
      const form = new URLSearchParams({ To: '+15558675310', From: '+15017122661', Body: 'x' })
      return {
        answer: {
          status: 201,
          headers: JSON_TYPE,
          body: JSON.stringify(messageResource(ACCOUNT.accountSid, form, sid)),
        },
        providerMessageIds: [sid],
      }
    },
    idsPerPart: false,
    errors: ERRORS,
    authFailures: [
      twilioError(401, 20003, 'Authenticate'),
      twilioError(403, 20003, 'Permission Denied'),
      twilioError(404, 20404, 'The requested resource was not found'),
    ],
    // Status callbacks are POSTs (the Messages API has no method for them); a number's or a
    // Messaging Service's "A message comes in" webhook may be set to POST or GET.
    webhookMethods: { status: ['POST'], inbound: ['POST', 'GET'] },
    statuses: STATUSES,
    newProviderMessageId: newSid,
    reportsCarryMessageId: true,
    statusReport: (spec, o) => {
      const { urls, account } = who(o)
      return callback(
        'status',
        withRef(urls.status, spec.messageId),
        spec.method,
        statusParams(account.accountSid, spec.providerMessageId, spec.word, spec.errorCode),
        account.authToken,
      )
    },
    inbound: (spec, o) => {
      const { urls, account } = who(o)
      return callback(
        'inbound',
        urls.inbound,
        spec.method,
        inboundParams(account.accountSid, spec.from, spec.to, spec.body),
        account.authToken,
      )
    },
    inboundAnswer: { status: 200, contentType: 'text/xml', body: EMPTY_TWIML },
    malformed: (kind) =>
      kind === 'status'
        ? [signedStatus(noSid), signedStatus(noStatus), signedStatus({})]
        : [
            signedInbound(noFrom),
            signedInbound(noTo),
            signedInbound(noInboundSid),
            signedInbound({}),
          ],
    signatureHeaders: ['x-twilio-signature'],
    settings: {
      name,
      type: 'twilio',
      ...ACCOUNT,
      messagingServiceSid: SERVICE,
      baseUrl: upstream.url,
    },
    skip: {
      'webhook.batch': 'Twilio sends one status callback per status change, one inbound per SMS',
    },
    close: async () => upstream.clear(),
  }
})

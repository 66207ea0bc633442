/**
 * The shared provider contract against the Plivo adapter: sends go to a steerable upstream
 * whose unsteered answers come from the local Plivo-speaking server (which refuses anything
 * Plivo's Message API does not document); callbacks are signed as Plivo signs them, every
 * signature checked with Plivo's own SDK before the adapter sees it.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after } from 'node:test'
import plivo from 'plivo'
import { request } from 'undici'
import {
  contractContext,
  runProviderContract,
  type ContractHarness,
  type ErrorCase,
  type StatusCase,
  type WebhookMethod,
} from '../contract.case.js'
import type { ProviderContext, WebhookRequest } from '../provider.js'
import { startUpstream, type RawAnswer, type TestUpstream } from '../test-upstream.js'
import { PLIVO_ERROR_CODES } from './plivo-codes.js'
import { signV2, signV3 } from './plivo-signature.js'
import { checkMessageRequest, startPlivoFake, type PlivoFake } from './plivo.fake-server.js'
import { createPlivoProvider } from './plivo.provider.js'

const ACCOUNT = { authId: 'MAXXXXXXXXXXXXXXXXXX', authToken: 'contract-token-a' }
const OTHER = { authId: 'MAZZZZZZZZZZZZZZZZZZ', authToken: 'contract-token-b' }
/** The main account's token: a subaccount's callbacks carry its -Ma- signatures too. */
const MAIN_TOKEN = 'contract-main-account-token'
const POWERPACK = '5ec4c8c9-cd74-42b5-9e41-0d7670d6bb46'
const JSON_TYPE = { 'content-type': 'application/json' }
const SIGNATURE_HEADERS = [
  'x-plivo-signature-v2',
  'x-plivo-signature-v2-nonce',
  'x-plivo-signature-v3',
  'x-plivo-signature-v3-nonce',
]

let shared: Promise<{ fake: PlivoFake; upstream: TestUpstream }> | undefined
/** The Plivo-speaking server behind a steerable upstream, shared by the checks. */
function gateway(): Promise<{ fake: PlivoFake; upstream: TestUpstream }> {
  shared ??= (async () => {
    const fake = await startPlivoFake({ ...ACCOUNT, reports: 'none' })
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

const queued = (uuid: string): RawAnswer => ({
  status: 202,
  headers: JSON_TYPE,
  body: JSON.stringify({
    api_id: randomUUID(),
    message: 'message(s) queued',
    message_uuid: [uuid],
  }),
})
const plivoError = (status: number, error: string): RawAnswer => ({
  status,
  headers: JSON_TYPE,
  body: JSON.stringify({ api_id: randomUUID(), error }),
})

const ERRORS: ErrorCase[] = [
  {
    title: '202 queued for no destination, invalid_number listed',
    answer: {
      status: 202,
      headers: JSON_TYPE,
      body: '{"api_id":"a","message":"message(s) queued","message_uuid":[],"invalid_number":["1415"]}',
    },
    expect: { outcome: 'rejected', code: 'invalid_number' },
  },
  {
    title: "400 invalid 'dst' parameter",
    answer: plivoError(400, "invalid 'dst' parameter"),
    expect: { outcome: 'rejected', code: 'invalid_number' },
  },
  {
    title: '400 destination country barred',
    answer: plivoError(400, 'destination country barred'),
    expect: { outcome: 'rejected', code: 'unreachable_destination' },
  },
  {
    title: '400 text too long',
    answer: plivoError(400, "'text' parameter too long"),
    expect: { outcome: 'rejected', code: 'message_too_long' },
  },
  {
    title: '400 caller ID not allowed',
    answer: plivoError(400, 'This caller ID is not allowed for outbound message.'),
    expect: { outcome: 'rejected', code: 'provider_rejected' },
  },
  {
    title: '400 insufficient credit',
    answer: plivoError(400, 'Insufficient credit'),
    expect: { outcome: 'retry', code: 'provider_account_error', fault: 'instance' },
  },
  {
    title: '400 as an HTML page',
    answer: { status: 400, headers: { 'content-type': 'text/html' }, body: '<h1>Bad Request</h1>' },
    expect: { outcome: 'rejected', code: 'provider_rejected' },
  },
  {
    title: '405 method not allowed',
    answer: plivoError(405, 'method not allowed'),
    expect: { outcome: 'rejected', code: 'provider_rejected' },
  },
  {
    title: '408 request timeout',
    answer: plivoError(408, 'timeout'),
    expect: { outcome: 'retry', code: 'provider_timeout' },
  },
  {
    title: '429 with Retry-After: 2',
    answer: {
      ...plivoError(429, 'too many requests'),
      headers: { ...JSON_TYPE, 'retry-after': '2' },
    },
    expect: { outcome: 'retry', code: 'provider_rate_limited', after: 2000 },
  },
  {
    title: '429 without Retry-After waits a second',
    answer: plivoError(429, 'too many requests'),
    expect: { outcome: 'retry', code: 'provider_rate_limited', after: 1000 },
  },
  {
    title: '500 server error',
    answer: plivoError(500, 'server error'),
    expect: { outcome: 'retry', code: 'provider_unavailable' },
  },
  {
    title: '502 HTML from a proxy',
    answer: { status: 502, headers: { 'content-type': 'text/html' }, body: '<h1>Bad Gateway</h1>' },
    expect: { outcome: 'retry', code: 'provider_unavailable' },
  },
  {
    title: '503 with Retry-After: 5',
    answer: { status: 503, headers: { 'retry-after': '5' }, body: '' },
    expect: { outcome: 'retry', code: 'provider_unavailable', after: 5000 },
  },
  {
    title: '302 redirect (not the API)',
    answer: { status: 302, headers: { location: 'https://www.plivo.com/' }, body: '' },
    expect: { outcome: 'retry', code: 'provider_unavailable', fault: 'instance' },
  },
]

const STATUSES: StatusCase[] = [
  { word: 'queued', expect: 'not_final' },
  { word: 'sent', expect: 'not_final' },
  { word: 'delivered', expect: { status: 'delivered' } },
  { word: 'read', expect: { status: 'delivered' } },
  { word: 'undelivered', expect: { status: 'undelivered', errorCode: 'undeliverable' } },
  { word: 'failed', expect: { status: 'failed', errorCode: 'carrier_error' } },
  { word: 'rejected', expect: { status: 'failed', errorCode: 'carrier_error' } },
  {
    word: 'undelivered',
    errorCode: '999',
    expect: { status: 'undelivered', errorCode: 'undeliverable' },
  },
  ...Object.entries(PLIVO_ERROR_CODES).flatMap(([code, e]): StatusCase[] => [
    { word: 'undelivered', errorCode: code, expect: { status: 'undelivered', errorCode: e.code } },
    { word: 'failed', errorCode: code, expect: { status: 'failed', errorCode: e.code } },
  ]),
]

/** A callback as Plivo sends it: form POST or GET query, signed V2 and V3 (and -Ma-). */
function callback(
  kind: 'status' | 'inbound',
  url: string,
  method: WebhookMethod,
  params: Record<string, string>,
  token: string,
): WebhookRequest {
  const form = new URLSearchParams(params).toString()
  const full = method === 'GET' ? `${url}${url.includes('?') ? '&' : '?'}${form}` : url
  const signed =
    method === 'POST'
      ? new Map(Object.entries(params).map(([k, v]) => [k, [v]]))
      : new Map<string, string[]>()
  const [n2, n3] = [String(Date.now()) + '0417', String(Date.now()) + '9921']
  const headers: Record<string, string> = {
    'x-plivo-signature-v2': signV2(token, full, n2),
    'x-plivo-signature-ma-v2': signV2(MAIN_TOKEN, full, n2),
    'x-plivo-signature-v2-nonce': n2,
    'x-plivo-signature-v3': signV3(token, method, full, signed, n3),
    'x-plivo-signature-ma-v3': signV3(MAIN_TOKEN, method, full, signed, n3),
    'x-plivo-signature-v3-nonce': n3,
  }
  // The oracle: Plivo's SDK accepts what the harness hands the adapter.
  assert.ok(
    plivo.validateSignature(full, n2, headers['x-plivo-signature-v2'] ?? '', token),
    'SDK: V2',
  )
  assert.ok(
    plivo.validateV3Signature(
      method,
      full,
      n3,
      token,
      headers['x-plivo-signature-v3'] ?? '',
      method === 'POST' ? params : {},
    ),
    'SDK: V3',
  )
  if (method === 'POST') headers['content-type'] = 'application/x-www-form-urlencoded'
  return { kind, url: full, method, headers, rawBody: Buffer.from(method === 'POST' ? form : '') }
}

const digits = (e164: string) => e164.replace(/^\+/, '')

runProviderContract('plivo', async ({ name }): Promise<ContractHarness> => {
  const { upstream } = await gateway()
  const ctx = contractContext(name)
  const otherCtx = contractContext('contract-b')
  const create = (o: { baseUrl?: string; alternate?: boolean } = {}) =>
    createPlivoProvider({
      name: o.alternate ? 'contract-b' : name,
      ...(o.alternate ? OTHER : ACCOUNT),
      baseUrl: o.baseUrl ?? upstream.url,
      powerpackUuid: POWERPACK,
      callbackUrls: (o.alternate ? otherCtx : ctx).callbackUrls,
      now: ctx.now,
    })
  const who = (o?: { alternate?: boolean; target?: Pick<ProviderContext, 'callbackUrls'> }) => ({
    urls: o?.target?.callbackUrls ?? (o?.alternate ? otherCtx : ctx).callbackUrls,
    token: o?.alternate ? OTHER.authToken : ACCOUNT.authToken,
  })
  const statusParams = (uuid: string, word: string, errorCode?: string) => ({
    MessageUUID: uuid,
    ParentMessageUUID: uuid,
    PartInfo: '1 of 1',
    To: '14155550123',
    From: '14155550100',
    Type: 'sms',
    Status: word,
    ErrorCode: errorCode ?? '',
    Units: '1',
    TotalRate: '0.00500',
    TotalAmount: '0.00500',
    MCC: '310',
    MNC: '410',
    Sequence: '2',
    MessageTime: '2026-01-05 10:00:00.000000',
    QueuedTime: '2026-01-05 10:00:00.100000',
    SentTime: '2026-01-05 10:00:01.000000',
    DeliveryReportTime: '2026-01-05 10:00:03.000000',
    PowerpackUUID: '',
    requester_ip: '203.0.113.7',
  })
  const inboundParams = (from: string, to: string, text: string) => ({
    From: digits(from),
    To: digits(to),
    Text: text,
    Type: 'sms',
    MessageUUID: randomUUID(),
    Units: '1',
    TotalRate: '0.00000',
    TotalAmount: '0.00000',
    MessageIntent: '',
    PowerpackUUID: '',
  })
  const signedStatus = (params: Record<string, string>) =>
    callback('status', ctx.callbackUrls.status, 'POST', params, ACCOUNT.authToken)
  const signedInbound = (params: Record<string, string>) =>
    callback('inbound', ctx.callbackUrls.inbound, 'POST', params, ACCOUNT.authToken)

  return {
    provider: create(),
    ctx,
    createProvider: create,
    upstream,
    read: (req) => {
      assert.equal(req.method, 'POST')
      assert.equal(req.path, `/v1/Account/${ACCOUNT.authId}/Message/`)
      assert.equal(
        req.headers.authorization,
        `Basic ${Buffer.from(`${ACCOUNT.authId}:${ACCOUNT.authToken}`).toString('base64')}`,
      )
      const v = JSON.parse(req.rawBody.toString('utf8')) as Record<string, unknown>
      assert.equal(checkMessageRequest(v), undefined, 'a request Plivo documents')
      assert.equal(v.method, 'POST', 'callbacks asked for by POST')
      const dst = String(v.dst)
      return {
        to: dst.startsWith('+') ? dst : `+${dst}`,
        from: typeof v.src === 'string' ? v.src : undefined,
        body: String(v.text),
        unicode: 'auto',
        callbackUrl: typeof v.url === 'string' ? v.url : undefined,
        contentType: 'application/json',
      }
    },
    accepted: () => {
      const uuid = randomUUID()
      return { answer: queued(uuid), providerMessageIds: [uuid] }
    },
    idsPerPart: false,
    errors: ERRORS,
    authFailures: [
      plivoError(404, 'Resource not found'),
      {
        status: 401,
        headers: { 'content-type': 'text/html' },
        body: 'Could not verify your access level for that URL.',
      },
    ],
    webhookMethods: { status: ['POST', 'GET'], inbound: ['POST', 'GET'] },
    statuses: STATUSES,
    newProviderMessageId: randomUUID,
    reportsCarryMessageId: false,
    statusReport: (spec, o) => {
      const { urls, token } = who(o)
      return callback(
        'status',
        urls.status,
        spec.method,
        statusParams(spec.providerMessageId, spec.word, spec.errorCode),
        token,
      )
    },
    inbound: (spec, o) => {
      const { urls, token } = who(o)
      return callback(
        'inbound',
        urls.inbound,
        spec.method,
        inboundParams(spec.from, spec.to, spec.body),
        token,
      )
    },
    malformed: (kind) =>
      kind === 'status'
        ? [
            signedStatus({ Status: 'delivered' }),
            signedStatus({ MessageUUID: randomUUID() }),
            signedStatus({
              ...statusParams(randomUUID(), 'delivered'),
              ParentMessageUUID: randomUUID(),
              PartInfo: '',
            }),
            signedStatus({
              ...statusParams(randomUUID(), 'delivered'),
              ParentMessageUUID: randomUUID(),
              PartInfo: '9 of 2',
            }),
          ]
        : [
            signedInbound({ To: '14155550100', Text: 'x', MessageUUID: randomUUID() }),
            signedInbound({ From: '447700900123', Text: 'x', MessageUUID: randomUUID() }),
            signedInbound({ From: '447700900123', To: '14155550100', Text: 'x' }),
            signedInbound({
              From: '447700900123',
              To: '14155550100',
              MessageUUID: randomUUID(),
              Type: 'sms',
            }),
          ],
    signatureHeaders: SIGNATURE_HEADERS,
    settings: { name, type: 'plivo', ...ACCOUNT, baseUrl: upstream.url, powerpackUuid: POWERPACK },
    skip: {
      'request.reference':
        "Plivo's Message API has no field for a client reference: reports are matched by message_uuid",
      'webhook.batch': 'Plivo sends one callback per status change',
    },
    close: async () => upstream.clear(),
  }
})

/**
 * The Vonage adapter under the shared contract suite: a steerable upstream answering like
 * `POST /sms/json`, and callbacks built as Vonage sends them (documented algorithm) and checked
 * by the Vonage SDK's own `verifySignature` before the suite sees them. The default instance
 * signs (one run per signature method); the alternate one authenticates callbacks by token.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after } from 'node:test'
import { Vonage } from '@vonage/server-sdk'
import {
  contractContext,
  runProviderContract,
  skipEach,
  type CallbackOptions,
  type ContractCheckId,
  type ContractHarness,
  type ErrorCase,
  type ExpectedSendResult,
  type InboundSpec,
  type RawAnswer,
  type StatusCase,
  type StatusSpec,
  type WebhookMethod,
} from '../contract.case.js'
import type { OutboundSms, ProviderContext, WebhookRequest } from '../provider.js'
import { startUpstream, type TestUpstream, type UpstreamRequest } from '../test-upstream.js'
import { signCallback, vonageScts, vonageTimestamp } from './vonage-fake-callbacks.js'
import { VONAGE_SIGNATURE_METHODS, type VonageSignatureMethod } from './vonage-signature.js'
import { vonageType, type VonageSettings } from './vonage.type.js'

const JSON_TYPE = { 'content-type': 'application/json' }
const FORM = 'application/x-www-form-urlencoded'
const KEY_A = 'abcd1234'
const KEY_B = 'efgh5678'
const SECRET_A = 'ApiSecretA1'
const SIG_SECRET_A = 'contract-signature-secret-a'
const PART_PRICE = '0.03330000'

const oracle = new Vonage({ apiKey: KEY_A, apiSecret: SECRET_A }).sms
type Algorithm = Parameters<typeof oracle.verifySignature>[3]
const ALGORITHM: Record<VonageSignatureMethod, string> = {
  md5hash: 'MD5HASH',
  md5: 'MD5HMAC',
  sha1: 'SHA1HMAC',
  sha256: 'SHA256HMAC',
  sha512: 'SHA512HMAC',
}

/** The SDK's check, which every signed request and callback of this file must pass. */
function assertSdkVerifies(params: Record<string, string>, method: VonageSignatureMethod): void {
  const { sig } = params
  assert.ok(sig, 'signed')
  assert.ok(
    oracle.verifySignature(sig, params, SIG_SECRET_A, ALGORITHM[method] as Algorithm),
    'the Vonage SDK verifies the signature',
  )
}

const vonageId = (): string => randomBytes(8).toString('hex').toUpperCase()

const answer = (messages: Record<string, string>[]): RawAnswer => ({
  status: 200,
  headers: JSON_TYPE,
  body: JSON.stringify({ 'message-count': String(messages.length), messages }),
})
const refusal = (status: string, text: string): RawAnswer =>
  answer([{ status, 'error-text': text }])

/** What `POST /sms/json` answers when it accepts a message of `parts` parts. */
function acceptance(to: string, parts: number): { answer: RawAnswer; ids: [string, ...string[]] } {
  const ids = Array.from({ length: parts }, vonageId) as [string, ...string[]]
  const messages = ids.map((id, i) => ({
    to,
    'message-id': id,
    status: '0',
    'remaining-balance': (10 - i * 0.0333).toFixed(8),
    'message-price': PART_PRICE,
    network: '23410',
  }))
  return { answer: answer(messages), ids }
}

/** Partial failure: the first part accepted, the second throttled. */
const PARTIAL: RawAnswer = answer([
  {
    to: '447700900001',
    'message-id': vonageId(),
    status: '0',
    'remaining-balance': '9.9',
    'message-price': PART_PRICE,
    network: '23410',
  },
  { status: '1', 'error-text': 'Throughput Rate Exceeded' },
])

const retry = (code: string, extra: object = {}): ExpectedSendResult =>
  ({ outcome: 'retry', code, ...extra }) as ExpectedSendResult
const rejected = (code: string): ExpectedSendResult =>
  ({ outcome: 'rejected', code }) as ExpectedSendResult
const instance = (code: string) => retry(code, { fault: 'instance' })

/** Every documented `status` of the send answer, and the HTTP answers Vonage's edge gives. */
const ERRORS: ErrorCase[] = [
  ['1', 'Throughput Rate Exceeded', retry('provider_rate_limited', { after: 1000 })],
  ['2', 'Missing from param', rejected('provider_rejected')],
  ['3', 'Invalid to address', rejected('provider_rejected')],
  ['4', 'Bad Credentials', instance('provider_auth_failed')],
  ['5', 'Internal Error', retry('provider_unavailable')],
  ['6', 'Invalid Message', rejected('unreachable_destination')],
  ['7', 'Number barred.', rejected('blocked_by_carrier')],
  ['8', 'Partner Account Barred', instance('provider_account_error')],
  ['9', 'Quota Exceeded - rejected', instance('provider_account_error')],
  ['10', 'Too Many Existing Binds', retry('provider_rate_limited', { after: 1000 })],
  ['11', 'Account Not Enabled For HTTP', instance('provider_account_error')],
  ['12', 'Message Too Long', rejected('message_too_long')],
  ['14', 'Invalid Signature', instance('provider_auth_failed')],
  ['15', 'Illegal Sender Address - rejected', rejected('provider_rejected')],
  ['22', 'Invalid Network Code', rejected('unreachable_destination')],
  ['23', 'Invalid Callback Url', instance('provider_account_error')],
  ['29', 'Non White-listed Destination - rejected', rejected('unreachable_destination')],
  ['32', 'Signature And API Secret Disallowed', instance('provider_auth_failed')],
  ['33', 'Number De-activated', rejected('invalid_number')],
  ['99', 'Something new', rejected('provider_rejected')],
]
  .map(([status, text, expect]): ErrorCase => ({
    title: `status ${status as string} ${text as string}`,
    answer: refusal(status as string, text as string),
    expect: expect as ExpectedSendResult,
  }))
  .concat([
    {
      title: 'part 2 of 2 throttled after part 1 was accepted',
      answer: PARTIAL,
      expect: retry('provider_rate_limited', { after: 1000 }),
    },
    {
      title: 'HTTP 429 with Retry-After',
      answer: { status: 429, headers: { 'retry-after': '3' }, body: '' },
      expect: retry('provider_rate_limited', { after: 3000 }),
    },
    {
      title: 'HTTP 503 HTML page',
      answer: { status: 503, headers: { 'content-type': 'text/html' }, body: '<h1>503</h1>' },
      expect: retry('provider_unavailable'),
    },
    {
      title: 'HTTP 408',
      answer: { status: 408, body: '' },
      expect: retry('provider_timeout'),
    },
    {
      title: 'HTTP 400 HTML page',
      answer: { status: 400, headers: { 'content-type': 'text/html' }, body: '<h1>400</h1>' },
      expect: rejected('provider_rejected'),
    },
  ])

/** Delivery receipt words and err-codes, as Vonage documents them. */
const STATUSES: StatusCase[] = [
  { word: 'delivered', errorCode: '0', expect: { status: 'delivered' } },
  {
    word: 'expired',
    errorCode: '0',
    expect: { status: 'undelivered', errorCode: 'undeliverable' },
  },
  { word: 'accepted', errorCode: '0', expect: 'not_final' },
  { word: 'buffered', errorCode: '0', expect: 'not_final' },
  { word: 'unknown', errorCode: '0', expect: 'not_final' },
  ...(
    [
      ['failed', '1', 'carrier_error'],
      ['failed', '2', 'undeliverable'],
      ['failed', '3', 'invalid_number'],
      ['failed', '4', 'undeliverable'],
      ['failed', '5', 'carrier_error'],
      ['rejected', '6', 'blocked_by_carrier'],
      ['expired', '7', 'undeliverable'],
      ['failed', '8', 'carrier_error'],
      ['rejected', '9', 'recipient_opted_out'],
      ['rejected', '10', 'provider_rejected'],
      ['failed', '11', 'unreachable_destination'],
      ['failed', '12', 'unreachable_destination'],
      ['rejected', '13', 'blocked_by_carrier'],
      ['rejected', '14', 'blocked_by_carrier'],
      ['failed', '99', 'carrier_error'],
    ] as const
  ).map(([word, errorCode, code]) => ({
    word,
    errorCode,
    expect: { status: 'undelivered' as const, errorCode: code },
  })),
]

/** Reads `POST /sms/json` back, checking a signed request with the Vonage SDK. */
function readSend(method: VonageSignatureMethod) {
  return (req: UpstreamRequest) => {
    assert.equal(req.method, 'POST')
    assert.equal(req.path, '/sms/json')
    const p = Object.fromEntries(new URLSearchParams(req.rawBody.toString('utf8')))
    assert.equal(p.api_key, KEY_A)
    assert.equal(p.api_secret, undefined, 'a signed request carries no secret')
    assert.equal(req.headers.authorization, undefined, 'no Authorization header with sig')
    assertSdkVerifies(p, method)
    return {
      to: `+${p.to ?? ''}`,
      from: p.from,
      body: p.text ?? '',
      unicode: p.type === 'unicode',
      reference: p['client-ref'],
      callbackUrl: p.callback,
      contentType: FORM,
    }
  }
}

/** Puts params where Vonage does: the query for GET, a form (status) or JSON (inbound) body. */
function deliver(
  kind: 'status' | 'inbound',
  url: string,
  method: WebhookMethod,
  params: Record<string, string>,
): WebhookRequest {
  if (method === 'GET') {
    const target = new URL(url)
    for (const [k, v] of Object.entries(params)) target.searchParams.append(k, v)
    return { kind, url: target.href, method, headers: {}, rawBody: Buffer.alloc(0) }
  }
  const json = kind === 'inbound'
  return {
    kind,
    url,
    method,
    headers: { 'content-type': json ? 'application/json' : FORM },
    rawBody: Buffer.from(json ? JSON.stringify(params) : new URLSearchParams(params).toString()),
  }
}

let shared: Promise<TestUpstream> | undefined
after(async () => (await shared)?.close())

function harnessFor(method: VonageSignatureMethod, routeChecks: boolean) {
  return async ({ name }: { name: string }): Promise<ContractHarness> => {
    shared ??= startUpstream({
      fallback: (req) => {
        const p = new URLSearchParams(req.rawBody.toString('utf8'))
        return acceptance(p.get('to') ?? '', 1).answer
      },
    })
    const upstream = await shared
    const ctx = contractContext(name)
    const other = contractContext('contract-b', { token: true })
    const settingsA: VonageSettings = {
      name,
      type: 'vonage',
      mps: undefined,
      apiKey: KEY_A,
      apiSecret: SECRET_A,
      signatureSecret: SIG_SECRET_A,
      signatureMethod: method,
      baseUrl: upstream.url,
    }
    // The alternate instance: another account, no signature secret: callbacks by URL token.
    const settingsB: VonageSettings = {
      ...settingsA,
      name: 'contract-b',
      apiKey: KEY_B,
      apiSecret: 'ApiSecretB2',
      signatureSecret: undefined,
    }
    const create = (o: { baseUrl?: string; alternate?: boolean } = {}) => {
      const s = o.alternate ? settingsB : settingsA
      return vonageType.create(
        { ...s, baseUrl: o.baseUrl ?? upstream.url },
        o.alternate ? other : ctx,
      )
    }
    /** A callback as Vonage sends it for the chosen instance and callback URLs. */
    const callback = (
      kind: 'status' | 'inbound',
      httpMethod: WebhookMethod,
      fields: Record<string, string>,
      o: CallbackOptions = {},
    ): WebhookRequest => {
      const target: Pick<ProviderContext, 'callbackUrls'> = o.target ?? (o.alternate ? other : ctx)
      const now = Date.now()
      const params = {
        'api-key': o.alternate ? KEY_B : KEY_A,
        'message-timestamp': vonageTimestamp(now),
        ...fields,
      }
      if (o.alternate) return deliver(kind, target.callbackUrls[kind], httpMethod, params)
      const signed = signCallback(params, { secret: SIG_SECRET_A, method }, now)
      assertSdkVerifies(signed, method)
      return deliver(kind, target.callbackUrls[kind], httpMethod, signed)
    }
    const receipt = (spec: StatusSpec, o?: CallbackOptions): WebhookRequest =>
      callback(
        'status',
        spec.method,
        {
          msisdn: '447700900001',
          to: 'AcmeInc',
          'network-code': '23410',
          messageId: spec.providerMessageId,
          price: PART_PRICE,
          status: spec.word,
          scts: vonageScts(Date.now()),
          'err-code': spec.errorCode ?? '0',
          'client-ref': spec.messageId,
        },
        o,
      )
    const inbound = (spec: InboundSpec, o?: CallbackOptions): WebhookRequest =>
      callback(
        'inbound',
        spec.method,
        {
          msisdn: spec.from.replace(/^\+/, ''),
          to: spec.to.replace(/^\+/, ''),
          messageId: vonageId(),
          text: spec.body,
          type: /^[\x20-\x7e\n\r]*$/.test(spec.body) ? 'text' : 'unicode',
          keyword: spec.body.split(' ')[0]?.toUpperCase() ?? '',
        },
        o,
      )
    const skip: Partial<Record<ContractCheckId, string>> = {
      'request.no_from':
        'Vonage has no default sender (from is required, status 2): a message without one is refused before any request (vonage.provider.test.ts)',
      'webhook.batch': 'Vonage sends one receipt or one inbound SMS per callback',
      'tamper.header':
        'Vonage signs the parameters, not headers: tamper.query and tamper.body cover the signature',
    }
    if (!routeChecks) {
      Object.assign(
        skip,
        skipEach(
          ['route.inbound', 'route.status', 'route.tampered'],
          'the route checks run once, in the md5hash run: the method only changes the signature, checked above',
        ),
      )
    }
    return {
      provider: create(),
      ctx,
      createProvider: create,
      upstream,
      read: readSend(method),
      accepted: (sms: OutboundSms) => {
        const { answer: a, ids } = acceptance(sms.to.slice(1), sms.segments)
        return {
          answer: a,
          providerMessageIds: ids,
          price: { amount: Number((0.0333 * sms.segments).toFixed(8)), currency: 'EUR' },
        }
      },
      idsPerPart: true,
      errors: ERRORS,
      authFailures: [
        refusal('4', 'Bad Credentials'),
        refusal('14', 'Invalid Signature'),
        refusal('32', 'Signature And API Secret Disallowed'),
      ],
      webhookMethods: { status: ['GET', 'POST'], inbound: ['GET', 'POST'] },
      statuses: STATUSES,
      newProviderMessageId: vonageId,
      reportsCarryMessageId: true,
      statusReport: receipt,
      inbound,
      malformed: (kind) => {
        const signed = (fields: Record<string, string>) => callback(kind, 'POST', fields)
        if (kind === 'status') {
          return [
            signed({ status: 'delivered', 'err-code': '0' }),
            signed({ messageId: vonageId(), 'err-code': '0' }),
            signed({ messageId: '', status: 'delivered' }),
          ]
        }
        const base = { msisdn: '447700900123', to: '14155550100', messageId: vonageId() }
        return [
          signed({ to: '14155550100', messageId: vonageId(), text: 'x' }),
          signed({ ...base }),
          signed({ ...base, text: 'x', concat: 'true', 'concat-ref': '1', 'concat-part': '3' }),
          signed({
            ...base,
            text: 'x',
            concat: 'true',
            'concat-ref': '1',
            'concat-part': '4',
            'concat-total': '3',
          }),
        ]
      },
      signatureHeaders: [],
      settings: { ...settingsA },
      skip,
      close: async () => upstream.clear(),
    }
  }
}

for (const method of VONAGE_SIGNATURE_METHODS) {
  runProviderContract(`vonage (${method})`, harnessFor(method, method === 'md5hash'))
}

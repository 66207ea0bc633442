/**
 * The contract suite's own tests: it passes, with no skip, on a reference adapter that has
 * everything it checks (src/providers/contract/reference.provider.ts), and each check fails
 * on that adapter with the one realistic bug it is there to catch. A check no bug can fail
 * would be a defect of the suite.
 */
import assert, { AssertionError } from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { randomBytes } from 'node:crypto'
import {
  CONTRACT_CHECKS,
  contractContext,
  runContractCheck,
  runProviderContract,
  type ContractCheckId,
  type ContractHarness,
  type ContractSetup,
  type StatusSpec,
} from './contract.case.js'
import { definedCheckIds } from './contract/checks.js'
import {
  createReferenceProvider,
  referenceType,
  signReference,
  type ReferenceDefect,
} from './contract/reference.provider.js'
import type { WebhookRequest } from './provider.js'
import { PROVIDER_TYPES } from './registry.js'
import { createSimulatorProvider } from './simulator/simulator.provider.js'
import { startUpstream, type TestUpstream } from './test-upstream.js'

// The route checks start a real Switchboard with the reference type: it is registered for
// this test process only (never in src/providers/registry.ts).
Object.assign(PROVIDER_TYPES, { 'contract-reference': referenceType })

const SECRET = 'reference-secret-a'
const OTHER_SECRET = 'reference-secret-b'
const API_KEY = 'reference-key'
const JSON_TYPE = { 'content-type': 'application/json' }
const newId = (): string => `REF${randomBytes(8).toString('hex').toUpperCase()}`

let shared: Promise<TestUpstream> | undefined
const gateway = (): Promise<TestUpstream> =>
  (shared ??= startUpstream({
    fallback: () => ({ status: 201, headers: JSON_TYPE, body: JSON.stringify({ ids: [newId()] }) }),
  }))
after(async () => (await shared)?.close())

function withQuery(url: string, params: Record<string, string>): string {
  return `${url}${url.includes('?') ? '&' : '?'}${new URLSearchParams(params).toString()}`
}

/** The reference adapter's harness; `defects` go to the adapter and its signer alike. */
function referenceSetup(defects: readonly ReferenceDefect[] = []): ContractSetup {
  return async ({ name }): Promise<ContractHarness> => {
    const upstream = await gateway()
    const ctx = contractContext(name)
    const other = contractContext('contract-b')
    const create = (o: { baseUrl?: string; alternate?: boolean } = {}) =>
      createReferenceProvider({
        name: o.alternate ? 'contract-b' : name,
        baseUrl: o.baseUrl ?? upstream.url,
        apiKey: API_KEY,
        secret: o.alternate ? OTHER_SECRET : SECRET,
        ctx: o.alternate ? other : ctx,
        defects,
      })
    const signed = (
      kind: 'status' | 'inbound',
      method: 'GET' | 'POST',
      url: string,
      rawBody: Buffer,
      alternate = false,
      contentType = 'application/json',
    ): WebhookRequest => ({
      kind,
      url,
      method,
      headers: {
        ...(method === 'POST' ? { 'content-type': contentType } : {}),
        ...signReference(alternate ? OTHER_SECRET : SECRET, url, rawBody, Date.now(), defects),
      },
      rawBody,
    })
    const statusFields = (s: StatusSpec): Record<string, string> => ({
      id: s.providerMessageId,
      reference: s.messageId,
      status: s.word,
      ...(s.errorCode ? { error: s.errorCode } : {}),
    })
    const error = (status: number, code: string, headers = {}) => ({
      status,
      headers: { ...JSON_TYPE, ...headers },
      body: JSON.stringify({ error: code }),
    })
    return {
      provider: create(),
      ctx,
      createProvider: create,
      upstream,
      read: (req) => {
        const v = JSON.parse(req.rawBody.toString('utf8')) as Record<string, unknown>
        const str = (x: unknown) => (typeof x === 'string' ? x : undefined)
        return {
          to: String(v.to),
          from: str(v.from),
          body: String(v.text),
          unicode: v.unicode === true,
          reference: str(v.reference),
          callbackUrl: str(v.callback),
          contentType: 'application/json',
        }
      },
      accepted: (sms) => {
        const ids = Array.from({ length: sms.segments }, newId) as [string, ...string[]]
        return {
          answer: { status: 201, headers: JSON_TYPE, body: JSON.stringify({ ids }) },
          providerMessageIds: ids,
        }
      },
      idsPerPart: true,
      errors: [
        {
          title: '429 with Retry-After: 3',
          answer: error(429, 'slow_down', { 'retry-after': '3' }),
          expect: { outcome: 'retry', code: 'provider_rate_limited', after: 3000 },
        },
        {
          title: '429 without Retry-After',
          answer: error(429, 'slow_down'),
          expect: { outcome: 'retry', code: 'provider_rate_limited' },
        },
        {
          title: '503',
          answer: error(503, 'maintenance'),
          expect: { outcome: 'retry', code: 'provider_unavailable' },
        },
        {
          title: '400 invalid_number',
          answer: error(400, 'invalid_number'),
          expect: { outcome: 'rejected', code: 'invalid_number' },
        },
        {
          title: '400 opted_out suppresses the pair',
          answer: error(400, 'opted_out'),
          expect: { outcome: 'rejected', code: 'recipient_opted_out', suppress: true },
        },
        {
          title: '422 anything else',
          answer: error(422, 'text_too_long'),
          expect: { outcome: 'rejected', code: 'provider_rejected' },
        },
      ],
      authFailures: [error(400, 'key_revoked')],
      webhookMethods: { status: ['POST', 'GET'], inbound: ['POST', 'GET'] },
      statuses: [
        { word: 'queued', expect: 'not_final' },
        { word: 'accepted', expect: { status: 'sent' } },
        { word: 'delivered', expect: { status: 'delivered' } },
        { word: 'undelivered', expect: { status: 'undelivered', errorCode: 'undeliverable' } },
        { word: 'failed', expect: { status: 'failed', errorCode: 'carrier_error' } },
        {
          word: 'failed',
          errorCode: 'blocked',
          expect: { status: 'failed', errorCode: 'blocked_by_carrier' },
        },
      ],
      reportsCarryMessageId: true,
      newProviderMessageId: newId,
      statusReport: (spec, o) => {
        const base =
          o?.target?.callbackUrls.status ?? (o?.alternate ? other : ctx).callbackUrls.status
        if (spec.method === 'GET') {
          const url = withQuery(base, statusFields(spec))
          return signed('status', 'GET', url, Buffer.alloc(0), o?.alternate)
        }
        const body = Buffer.from(JSON.stringify([statusFields(spec)]))
        return signed('status', 'POST', base, body, o?.alternate)
      },
      statusBatch: (specs) =>
        signed(
          'status',
          'POST',
          ctx.callbackUrls.status,
          Buffer.from(JSON.stringify(specs.map(statusFields))),
        ),
      inbound: (spec, o) => {
        const base =
          o?.target?.callbackUrls.inbound ?? (o?.alternate ? other : ctx).callbackUrls.inbound
        const fields = { id: newId(), from: spec.from.slice(1), to: spec.to, text: spec.body }
        if (spec.method === 'GET') {
          return signed('inbound', 'GET', withQuery(base, fields), Buffer.alloc(0), o?.alternate)
        }
        const body = Buffer.from(new URLSearchParams(fields).toString())
        return signed(
          'inbound',
          'POST',
          base,
          body,
          o?.alternate,
          'application/x-www-form-urlencoded',
        )
      },
      inboundAnswer: { status: 200, contentType: 'text/plain', body: 'OK' },
      malformed: (kind) => {
        const url = ctx.callbackUrls[kind]
        const bodies =
          kind === 'status'
            ? [
                'not json',
                '{"id":"REF1","status":"delivered"}',
                '[{"status":"delivered"}]',
                '[{"id":5}]',
              ]
            : ['from=447700900123&to=%2B14155550100', 'id=REF1&text=hi', '%%%']
        return bodies.map((b) => signed(kind, 'POST', url, Buffer.from(b)))
      },
      signatureHeaders: ['x-ref-signature', 'x-ref-timestamp'],
      settings: {
        name,
        type: 'contract-reference',
        baseUrl: upstream.url,
        apiKey: API_KEY,
        secret: SECRET,
        defects,
      },
      close: async () => upstream.clear(),
    }
  }
}

runProviderContract('reference gateway', referenceSetup())

/** The bug each check is there to catch. */
const CAUGHT_BY: Record<Exclude<ContractCheckId, 'status.pushed'>, ReferenceDefect> = {
  'request.gsm': 'drops-from',
  'request.unicode': 'no-unicode-flag',
  'request.no_from': 'empty-from',
  'request.reference': 'no-reference',
  'request.callback_url': 'inbound-url-as-callback',
  'request.keep_alive': 'no-keep-alive',
  'errors.table': 'no-suppress',
  'errors.html_500': 'html-500-rejected',
  'errors.html_200': 'unreadable-2xx-retry',
  'errors.empty_200': 'empty-body-throws',
  'errors.empty_201': 'empty-201-accepted',
  'errors.truncated_json': 'bad-json-throws',
  'errors.cut_body': 'cut-body-retry',
  'errors.reset': 'reset-retry',
  'errors.slow_drip': 'late-abort-retry',
  'auth.http_401': '401-rejected',
  'auth.http_403': '403-rejected',
  'auth.documented': 'key-revoked-rejected',
  'timeout.hang': 'timeout-retry',
  'abort.after_request': 'abort-retry',
  'abort.before_send': 'ignores-aborted-signal',
  'connection.refused': 'refused-unknown',
  'multipart.ids': 'first-id-only',
  'status.table': 'unknown-word-delivered',
  'inbound.parse': 'inbound-from-raw',
  'webhook.batch': 'batch-first-only',
  'webhook.malformed': 'malformed-type-error',
  'webhook.unsigned': 'unsigned-throws',
  'webhook.get': 'post-only',
  'tamper.query': 'sign-without-query',
  'tamper.header': 'signature-prefix-compare',
  'tamper.body': 'sign-without-body',
  'tamper.url': 'sign-path-only',
  'instances.side_by_side': 'shared-secret',
  'route.inbound': 'inbound-answer-json',
  'route.status': 'status-answer-200',
  'route.tampered': 'verify-always',
}

/** A check failed on its assertions, not for want of something in the harness. */
function failedOnItsOwn(err: unknown): boolean {
  return err instanceof AssertionError && !err.message.includes('the harness has no')
}

describe('each contract check fails on an adapter with the bug it is there to catch', () => {
  test('every check is defined once, and every check but status.pushed has its bug', () => {
    assert.deepEqual(definedCheckIds(), [...CONTRACT_CHECKS])
    assert.deepEqual(
      Object.keys(CAUGHT_BY).sort(),
      CONTRACT_CHECKS.filter((id) => id !== 'status.pushed').sort(),
    )
  })

  for (const [id, defect] of Object.entries(CAUGHT_BY) as [ContractCheckId, ReferenceDefect][]) {
    test(`${id} catches "${defect}"`, { timeout: 60_000 }, async () => {
      assert.equal(await runContractCheck(referenceSetup(), id), undefined, 'passes without it')
      await assert.rejects(runContractCheck(referenceSetup([defect]), id), failedOnItsOwn)
    })
  }

  test('status.pushed catches a push provider that never reports', async () => {
    const pushing =
      (report: boolean): ContractSetup =>
      ({ name }) => {
        const sim = createSimulatorProvider({ name, dlrDelayMs: 5 })
        const provider = report ? sim : { ...sim, start: undefined }
        return {
          provider,
          ctx: contractContext(name),
          reportsCarryMessageId: true,
          close: async () => sim.core.close(),
        }
      }
    assert.equal(await runContractCheck(pushing(true), 'status.pushed'), undefined)
    await assert.rejects(runContractCheck(pushing(false), 'status.pushed'), failedOnItsOwn)
  })
})

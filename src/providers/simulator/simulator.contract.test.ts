import { after } from 'node:test'
import { request } from 'undici'
import {
  UPSTREAM_CHECKS,
  WEBHOOK_CHECKS,
  contractContext,
  runProviderContract,
  skipEach,
  type ContractHarness,
  type StatusSpec,
} from '../contract.case.js'
import type { WebhookRequest } from '../provider.js'
import { startUpstream, type RawAnswer, type TestUpstream } from '../test-upstream.js'
import { createSimulatorHttpProvider } from './simulator-http.provider.js'
import { createSimulatorProvider } from './simulator.provider.js'
import { startSimulatorServer, type SimulatorServer } from './simulator.server.js'
import { signSimulatorBody } from './simulator-signature.js'

runProviderContract('simulator (in-process)', ({ name }) => {
  const provider = createSimulatorProvider({ name, dlrDelayMs: 5 })
  return {
    provider,
    ctx: contractContext(name),
    reportsCarryMessageId: true,
    skip: {
      ...skipEach(
        UPSTREAM_CHECKS,
        'the in-process simulator sends no HTTP: its outcomes are unit-tested in simulator.provider.test.ts',
      ),
      ...skipEach(
        WEBHOOK_CHECKS,
        'the in-process simulator pushes its reports through start(sink)',
      ),
    },
    close: async () => provider.core.close(),
  }
})

const SECRET = 'contract-secret-a'
const OTHER_SECRET = 'contract-secret-b'
const JSON_TYPE = { 'content-type': 'application/json' }

/**
 * The simulator server behind a steerable gateway (src/providers/test-upstream.ts): a send
 * goes through to the simulator unless a check queued another answer. Shared by the checks;
 * each check gets its own adapter instance.
 */
let shared: Promise<{ server: SimulatorServer; upstream: TestUpstream }> | undefined
function gateway(): Promise<{ server: SimulatorServer; upstream: TestUpstream }> {
  shared ??= (async () => {
    const server = await startSimulatorServer({ webhookSecret: SECRET, dlrDelayMs: 5 })
    const upstream = await startUpstream({
      fallback: async (req): Promise<RawAnswer> => {
        const res = await request(`${server.url}${req.path}`, {
          method: 'POST',
          headers: JSON_TYPE,
          body: req.rawBody,
        })
        const retryAfter = res.headers['retry-after']
        return {
          status: res.statusCode,
          headers: {
            ...JSON_TYPE,
            ...(typeof retryAfter === 'string' ? { 'retry-after': retryAfter } : {}),
          },
          body: await res.body.text(),
        }
      },
    })
    return { server, upstream }
  })()
  return shared
}
after(async () => {
  if (!shared) return
  const { server, upstream } = await shared
  await upstream.close()
  await server.close()
})

let sids = 0
const newSid = (): string => `SIMCONTRACT${String(++sids).padStart(8, '0')}`

runProviderContract('simulator (HTTP)', async ({ name }): Promise<ContractHarness> => {
  const { upstream } = await gateway()
  const ctx = contractContext(name)
  const other = contractContext('contract-b')
  const create = (o: { baseUrl?: string; alternate?: boolean } = {}) =>
    createSimulatorHttpProvider({
      name: o.alternate ? 'contract-b' : name,
      url: o.baseUrl ?? upstream.url,
      webhookSecret: o.alternate ? OTHER_SECRET : SECRET,
      timeoutMs: 5000,
      now: ctx.now,
    })
  const report = (
    specs: readonly StatusSpec[],
    alternate = false,
    url = ctx.callbackUrls.status,
  ): WebhookRequest => {
    const rawBody = Buffer.from(
      JSON.stringify(
        specs.map((s) => ({
          messageId: s.messageId,
          providerMessageId: s.providerMessageId,
          status: s.word,
          at: Date.now(),
        })),
      ),
    )
    return {
      kind: 'status',
      url,
      method: 'POST',
      headers: { ...JSON_TYPE, ...signSimulatorBody(alternate ? OTHER_SECRET : SECRET, rawBody) },
      rawBody,
    }
  }
  const signed = (body: string): WebhookRequest => {
    const rawBody = Buffer.from(body)
    return {
      kind: 'status',
      url: ctx.callbackUrls.status,
      method: 'POST',
      headers: { ...JSON_TYPE, ...signSimulatorBody(SECRET, rawBody) },
      rawBody,
    }
  }
  return {
    provider: create(),
    ctx,
    createProvider: create,
    upstream,
    read: (req) => {
      const v = JSON.parse(req.rawBody.toString('utf8')) as Record<string, unknown>
      return {
        to: String(v.to),
        from: typeof v.from === 'string' ? v.from : undefined,
        body: String(v.body),
        unicode: 'auto',
        reference: typeof v.id === 'string' ? v.id : undefined,
        contentType: 'application/json',
      }
    },
    accepted: () => {
      const sid = newSid()
      return {
        answer: { status: 201, headers: JSON_TYPE, body: JSON.stringify({ sid }) },
        providerMessageIds: [sid],
      }
    },
    idsPerPart: false,
    errors: [
      {
        title: '503 server_error',
        answer: { status: 503, headers: JSON_TYPE, body: '{"code":"server_error"}' },
        expect: { outcome: 'retry', code: 'provider_unavailable' },
      },
      {
        title: '429 rate_limited with Retry-After: 2',
        answer: {
          status: 429,
          headers: { ...JSON_TYPE, 'retry-after': '2' },
          body: '{"code":"rate_limited"}',
        },
        expect: { outcome: 'retry', code: 'provider_rate_limited', after: 2000 },
      },
      {
        title: '429 rate_limited without Retry-After',
        answer: { status: 429, headers: JSON_TYPE, body: '{"code":"rate_limited"}' },
        expect: { outcome: 'retry', code: 'provider_rate_limited' },
      },
      {
        title: '400 invalid_number',
        answer: { status: 400, headers: JSON_TYPE, body: '{"code":"invalid_number"}' },
        expect: { outcome: 'rejected', code: 'invalid_number' },
      },
      {
        title: '400 opted_out',
        answer: { status: 400, headers: JSON_TYPE, body: '{"code":"opted_out"}' },
        expect: { outcome: 'rejected', code: 'recipient_opted_out', suppress: true },
      },
      {
        title: '400 bad_request',
        answer: { status: 400, headers: JSON_TYPE, body: '{"code":"bad_request"}' },
        expect: { outcome: 'rejected', code: 'provider_rejected' },
      },
      {
        title: '413 too_large',
        answer: { status: 413, headers: JSON_TYPE, body: '{"code":"too_large"}' },
        expect: { outcome: 'rejected', code: 'provider_rejected' },
      },
      {
        title: '500 internal_error',
        answer: { status: 500, headers: JSON_TYPE, body: '{"code":"internal_error"}' },
        expect: { outcome: 'retry', code: 'provider_unavailable' },
      },
    ],
    webhookMethods: { status: ['POST'] },
    statuses: [
      { word: 'delivered', expect: { status: 'delivered' } },
      { word: 'undelivered', expect: { status: 'undelivered', errorCode: 'undeliverable' } },
    ],
    reportsCarryMessageId: true,
    newProviderMessageId: newSid,
    statusReport: (spec, o) =>
      report(
        [spec],
        o?.alternate,
        o?.target?.callbackUrls.status ?? (o?.alternate ? other : ctx).callbackUrls.status,
      ),
    statusBatch: (specs) => report(specs),
    malformed: () => [
      signed('not json'),
      signed('{"providerMessageId":"SIM1","status":"delivered"}'),
      signed('[1,null,"x"]'),
      signed('[{"providerMessageId":5,"status":"delivered"}]'),
    ],
    signatureHeaders: ['x-simulator-signature', 'x-simulator-timestamp'],
    settings: { name, type: 'simulator-http', url: upstream.url, webhookSecret: SECRET },
    skip: {
      'auth.documented':
        'the simulator takes no credentials: auth.http_401 and auth.http_403 cover a gateway refusing them',
      'request.callback_url':
        'the simulator server posts reports to the callback URL it was started with; a send names none',
      'inbound.parse': 'the simulator has no inbound SMS',
      'route.inbound': 'the simulator has no inbound SMS',
      'webhook.get': 'the simulator posts its reports; it never calls back by GET',
      'tamper.query': 'simulator callback URLs carry no query',
      'tamper.url':
        'the simulator signs the timestamp and body, not the URL (each instance has its own secret)',
    },
    close: async () => upstream.clear(),
  }
})

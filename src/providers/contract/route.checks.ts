/**
 * Contract checks through a real Switchboard: the harness's `settings` entry is its only
 * provider, it listens on 127.0.0.1 with PUBLIC_URL at its own address, and callbacks go to
 * `/webhooks/{name}/{kind}` over HTTP.
 */
import assert from 'node:assert/strict'
import type { CallbackOptions, ContractCheckId, ContractHarness } from '../contract.case.js'
import type { WebhookRequest } from '../provider.js'
import { callbackAuth, type ProviderSettings } from '../registry.js'
import { closedPort } from '../test-upstream.js'
import { UNICODE_TEXT, defineCheck, need, type CheckContext } from './runner.js'

const FROM = '+447700900456'
const TO = '+14155550199'
const HOP_BY_HOP = new Set(['host', 'content-length', 'connection', 'transfer-encoding'])

interface Running {
  url: string
  name: string
  target: NonNullable<CallbackOptions['target']>
  deliver(req: WebhookRequest): Promise<{ status: number; contentType: string; body: string }>
  inbound(): Promise<
    { from: string | null; to: string; body: string; provider: string | null; status: string }[]
  >
}

/** Starts a Switchboard whose only provider is the harness's `settings`, runs `fn`, stops it. */
async function withSwitchboard(
  c: CheckContext,
  id: ContractCheckId,
  fn: (sb: Running) => Promise<void>,
) {
  const settings = need(c.h.settings, 'settings', id)
  const name = String(settings.name)
  const port = await closedPort()
  const url = `http://127.0.0.1:${port}`
  // Loaded here: only adapters that run these checks pay for the whole application.
  const { startTestSwitchboard } = await import('../../../test/support/harness.js')
  const ts = await startTestSwitchboard({
    PROVIDERS: JSON.stringify([settings]),
    PUBLIC_URL: url,
    WORKER_THREAD: 'false',
  })
  try {
    await need(ts.sb.app, 'an API role', id).listen({ port, host: '127.0.0.1' })
    const parsed = ts.config.providers.find((p: ProviderSettings) => p.name === name)
    assert.ok(parsed, `settings name ${name} is configured`)
    const callbackToken = await ts.sb.store.initSetting(`provider_callback_token:${name}`, '')
    const query = callbackAuth(parsed) === 'token' ? `?token=${callbackToken}` : ''
    const base = `${url}/webhooks/${name}`
    await fn({
      url,
      name,
      target: {
        callbackUrls: { status: `${base}/status${query}`, inbound: `${base}/inbound${query}` },
        callbackToken,
      },
      async deliver(req) {
        assert.ok(req.url.startsWith(`${url}/webhooks/${name}/`), `built for ${url}: ${req.url}`)
        const headers: [string, string][] = []
        for (const [k, v] of Object.entries(req.headers)) {
          if (v === undefined || HOP_BY_HOP.has(k.toLowerCase())) continue
          for (const one of Array.isArray(v) ? v : [v]) headers.push([k, one])
        }
        const res = await fetch(req.url, {
          method: req.method,
          headers,
          ...(req.method === 'GET' ? {} : { body: req.rawBody }),
        })
        return {
          status: res.status,
          contentType: res.headers.get('content-type') ?? '',
          body: await res.text(),
        }
      },
      async inbound() {
        const res = await fetch(`${url}/v1/messages?direction=inbound`, { headers: ts.auth() })
        assert.equal(res.status, 200)
        const page = (await res.json()) as { data: Awaited<ReturnType<Running['inbound']>> }
        return page.data
      },
    })
  } finally {
    await ts.close()
  }
}

function expectAnswer(
  got: { status: number; contentType: string; body: string },
  want: ContractHarness['inboundAnswer'],
): void {
  if (!want) {
    assert.deepEqual({ status: got.status, body: got.body }, { status: 204, body: '' })
    return
  }
  assert.deepEqual(
    { status: got.status, contentType: got.contentType.split(';')[0], body: got.body },
    { status: want.status, contentType: want.contentType.split(';')[0], body: want.body },
  )
}

/** Alters what the signature covers: a signature header, else the query, else the body. */
function tampered(h: ContractHarness, req: WebhookRequest): WebhookRequest {
  const header = (h.signatureHeaders ?? []).find((n) => typeof req.headers[n] === 'string')
  if (header) {
    const v = req.headers[header] as string
    const i = Math.floor(v.length / 2)
    return {
      ...req,
      headers: {
        ...req.headers,
        [header]: v.slice(0, i) + (v[i]?.toLowerCase() === 'a' ? 'b' : 'a') + v.slice(i + 1),
      },
    }
  }
  if (req.method === 'GET') return { ...req, url: `${req.url}x` }
  const body = req.rawBody.toString('utf8')
  return {
    ...req,
    rawBody: Buffer.from(body.replace(/[A-Za-z](?=[^A-Za-z]*$)/, (ch) => (ch === 'a' ? 'b' : 'a'))),
  }
}

export function defineRouteChecks(): void {
  defineCheck(
    'route.inbound',
    'an inbound SMS through /webhooks/{name}/inbound is answered and stored',
    async (c) => {
      const method = need(
        c.h.webhookMethods?.inbound?.[0],
        'webhookMethods.inbound',
        'route.inbound',
      )
      await withSwitchboard(c, 'route.inbound', async (sb) => {
        const build = need(c.h.inbound?.bind(c.h), 'inbound()', 'route.inbound')
        const req = await build(
          { from: FROM, to: TO, body: UNICODE_TEXT, method },
          { target: sb.target },
        )
        expectAnswer(await sb.deliver(req), c.h.inboundAnswer)
        const stored = (await sb.inbound()).filter((m) => m.from === FROM)
        assert.deepEqual(
          stored.map((m) => ({ to: m.to, body: m.body, provider: m.provider, status: m.status })),
          [{ to: TO, body: UNICODE_TEXT, provider: sb.name, status: 'received' }],
        )
      })
    },
  )

  defineCheck(
    'route.status',
    'a delivery report through /webhooks/{name}/status is acknowledged',
    async (c) => {
      const method = need(c.h.webhookMethods?.status?.[0], 'webhookMethods.status', 'route.status')
      const row = need(
        c.h.statuses?.find((r) => typeof r.expect === 'object'),
        'a status row',
        'route.status',
      )
      await withSwitchboard(c, 'route.status', async (sb) => {
        const build = need(c.h.statusReport?.bind(c.h), 'statusReport()', 'route.status')
        const spec = {
          providerMessageId: c.h.newProviderMessageId?.() ?? 'contract-route-0001',
          messageId: 'msg_00000000000000000000000000',
          word: row.word,
          errorCode: row.errorCode,
          method,
        }
        expectAnswer(await sb.deliver(await build(spec, { target: sb.target })), c.h.statusAnswer)
      })
    },
  )

  defineCheck(
    'route.tampered',
    'a tampered callback through the route is 403 invalid_signature and stores nothing',
    async (c) => {
      const kinds = c.h.webhookMethods ?? {}
      await withSwitchboard(c, 'route.tampered', async (sb) => {
        let req: WebhookRequest
        if (kinds.inbound?.[0]) {
          const build = need(c.h.inbound?.bind(c.h), 'inbound()', 'route.tampered')
          req = await build(
            { from: FROM, to: TO, body: UNICODE_TEXT, method: kinds.inbound[0] },
            { target: sb.target },
          )
        } else {
          const method = need(kinds.status?.[0], 'webhookMethods', 'route.tampered')
          const row = need(
            c.h.statuses?.find((r) => typeof r.expect === 'object'),
            'a status row',
            'route.tampered',
          )
          const build = need(c.h.statusReport?.bind(c.h), 'statusReport()', 'route.tampered')
          req = await build(
            {
              providerMessageId: c.h.newProviderMessageId?.() ?? 'contract-route-0002',
              messageId: 'msg_00000000000000000000000000',
              word: row.word,
              errorCode: row.errorCode,
              method,
            },
            { target: sb.target },
          )
        }
        const before = await sb.inbound()
        const answer = await sb.deliver(tampered(c.h, req))
        assert.equal(answer.status, 403)
        assert.equal(
          (JSON.parse(answer.body) as { error: { code: string } }).error.code,
          'invalid_signature',
        )
        assert.deepEqual(await sb.inbound(), before, 'nothing stored')
        // The same callback untampered goes through: the 403 was the tampering's doing.
        const untouched = await sb.deliver(req)
        assert.ok(
          untouched.status >= 200 && untouched.status < 300,
          `untampered: ${untouched.status}`,
        )
      })
    },
  )
}

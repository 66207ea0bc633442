/** Contract checks of callbacks: status words, inbound, batches, bad and tampered webhooks. */
import assert from 'node:assert/strict'
import { newId } from '../../domain/ids.js'
import type {
  CallbackOptions,
  ContractCheckId,
  ContractHarness,
  StatusCase,
  StatusSpec,
  WebhookMethod,
} from '../contract.case.js'
import type { ProviderEvent, SmsProvider, WebhookOutcome, WebhookRequest } from '../provider.js'
import {
  GSM_TEXT,
  UNICODE_TEXT,
  callbackKinds,
  defineCheck,
  need,
  waitFor,
  outbound,
  sendSafely,
  SEND_MS,
  type CheckContext,
} from './runner.js'

type Kind = 'status' | 'inbound'
type Verified = Extract<WebhookOutcome, { verified: true }>

/** Words no provider documents: they must never end a message. */
export const UNKNOWN_WORDS = ['contract_unknown_word', 'deliveredish'] as const
const INBOUND_FROM = '+447700900123'
const INBOUND_TO = '+14155550100'
/** An inbound body with what form encodings and signature schemes trip on. */
const INBOUND_UNICODE = 'Grüße 👋 a&b=c+d 100%\nnew line'

/** Handles a callback that must verify; a throw fails the check with what was thrown. */
function verified(provider: SmsProvider, req: WebhookRequest): Verified {
  const handle = need(
    provider.handleWebhook?.bind(provider),
    'provider.handleWebhook',
    'status.table',
  )
  let outcome: WebhookOutcome
  try {
    outcome = handle(req)
  } catch (err) {
    return assert.fail(`handleWebhook threw for a valid callback: ${String(err)}`)
  }
  if (!outcome.verified) assert.fail(`a valid ${req.method} ${req.kind} callback did not verify`)
  return outcome
}

/** Handles a callback that must be refused: exactly `{ verified: false }`, never a throw. */
function refused(provider: SmsProvider, req: WebhookRequest, what: string): void {
  let outcome: WebhookOutcome
  try {
    outcome = need(
      provider.handleWebhook?.bind(provider),
      'provider.handleWebhook',
      'webhook.unsigned',
    )(req)
  } catch (err) {
    return assert.fail(`handleWebhook threw for ${what}: ${String(err)}`)
  }
  assert.deepEqual(outcome, { verified: false }, `${what} must not verify`)
}

/** The first status row with a final status: the report tamper checks and batches use. */
function finalRow(
  h: ContractHarness,
  id: ContractCheckId,
): StatusCase & { expect: { status: string } } {
  const rows = need(h.statuses, 'statuses table', id)
  const row =
    rows.find((r) => typeof r.expect === 'object' && r.expect.status === 'delivered') ??
    rows.find((r) => typeof r.expect === 'object')
  return need(row, 'a status row with a final status', id) as StatusCase & {
    expect: { status: string }
  }
}

/** A provider message id: the harness's format, else a generic one. */
function providerId(h: ContractHarness): string {
  return h.newProviderMessageId?.() ?? `contract${newId('p').slice(2).toLowerCase()}`
}

function statusSpec(h: ContractHarness, method: WebhookMethod, id: ContractCheckId): StatusSpec {
  const row = finalRow(h, id)
  return {
    providerMessageId: providerId(h),
    messageId: newId('msg'),
    word: row.word,
    errorCode: row.errorCode,
    method,
  }
}

/** A valid signed callback of `kind` by `method`, built by the harness. */
async function build(
  h: ContractHarness,
  kind: Kind,
  method: WebhookMethod,
  id: ContractCheckId,
  o?: CallbackOptions,
): Promise<WebhookRequest> {
  if (kind === 'status') {
    return need(h.statusReport?.bind(h), 'statusReport()', id)(statusSpec(h, method, id), o)
  }
  const spec = { from: INBOUND_FROM, to: INBOUND_TO, body: GSM_TEXT, method }
  return need(h.inbound?.bind(h), 'inbound()', id)(spec, o)
}

/** Every valid callback the harness declares, one per kind and method. */
async function everyCallback(c: CheckContext, id: ContractCheckId, o?: CallbackOptions) {
  const out: { kind: Kind; method: WebhookMethod; req: WebhookRequest }[] = []
  for (const { kind, method } of callbackKinds(c.h, id)) {
    out.push({ kind, method, req: await build(c.h, kind, method, id, o) })
  }
  return out
}

/** Changes one character to another that differs in any case (hex signatures compare so). */
function alter(text: string, at = Math.floor(text.length / 2)): string {
  const i = Math.min(Math.max(0, at), Math.max(0, text.length - 1))
  const ch = text[i] ?? ''
  const next = ch.toLowerCase() === 'a' ? 'b' : 'a'
  return text.length === 0 ? 'a' : text.slice(0, i) + next + text.slice(i + 1)
}

function statusEvents(events: readonly ProviderEvent[]) {
  return events.filter((e): e is Extract<ProviderEvent, { type: 'status' }> => e.type === 'status')
}

function checkStatus(h: ContractHarness, spec: StatusSpec, row: StatusCase, out: Verified): void {
  const mine = statusEvents(out.events).filter(
    (e) => e.providerMessageId === spec.providerMessageId,
  )
  assert.equal(
    out.events.length,
    mine.length,
    'every event of the callback is a status event of the reported message',
  )
  if (row.expect === 'not_final') {
    assert.ok(mine.length <= 1, 'at most one event')
    for (const e of mine) assert.equal(e.status, 'sent', `"${row.word}" must not end a message`)
    return
  }
  assert.equal(mine.length, 1, `"${row.word}" yields exactly one status event`)
  const [event] = mine
  assert.ok(event)
  assert.equal(event.status, row.expect.status)
  assert.equal(event.errorCode, row.expect.errorCode)
  assert.equal(event.messageId, h.reportsCarryMessageId ? spec.messageId : undefined)
  assert.ok(Number.isFinite(event.at), 'the event has a time')
}

export function defineWebhookChecks(): void {
  defineCheck(
    'status.table',
    'every status word is mapped as the table says; unknown words never end a message',
    async (c) => {
      const rows: StatusCase[] = [
        ...need(c.h.statuses, 'statuses table', 'status.table'),
        ...UNKNOWN_WORDS.map((word) => ({ word, expect: 'not_final' as const })),
      ]
      const method = need(c.h.webhookMethods?.status?.[0], 'webhookMethods.status', 'status.table')
      for (const row of rows) {
        await c.step(`${row.word}${row.errorCode ? ` (${row.errorCode})` : ''}`, () =>
          c.fresh(async (r) => {
            const spec: StatusSpec = {
              providerMessageId: providerId(r.h),
              messageId: newId('msg'),
              word: row.word,
              errorCode: row.errorCode,
              method,
            }
            const req = await need(
              r.h.statusReport?.bind(r.h),
              'statusReport()',
              'status.table',
            )(spec)
            const out = verified(r.h.provider, req)
            checkStatus(r.h, spec, row, out)
            assert.deepEqual(out.answer, r.h.statusAnswer)
          }),
        )
      }
    },
  )

  defineCheck(
    'status.pushed',
    'a provider without webhooks pushes a status event for an accepted message',
    async (c) => {
      const sms = outbound({ body: GSM_TEXT })
      const result = await sendSafely(c.h.provider, sms, AbortSignal.timeout(SEND_MS))
      assert.equal(result.outcome, 'accepted', JSON.stringify(result))
      const id = result.outcome === 'accepted' ? result.providerMessageIds[0] : ''
      const event = await waitFor(() =>
        statusEvents(c.events).find((e) => e.providerMessageId === id),
      )
      assert.ok(event, 'a status event arrived through the sink')
      if (c.h.reportsCarryMessageId) assert.equal(event.messageId, sms.id)
      assert.ok(Number.isFinite(event.at))
    },
    (h) =>
      h.provider.handleWebhook
        ? 'reports arrive by webhook: status.table and webhook.* check them'
        : undefined,
  )

  defineCheck(
    'inbound.parse',
    'an inbound SMS is one event: E.164 sender, text intact, the expected answer',
    async (c) => {
      const methods = need(c.h.webhookMethods?.inbound, 'webhookMethods.inbound', 'inbound.parse')
      assert.ok(methods.length > 0, 'webhookMethods.inbound is empty')
      for (const method of methods) {
        for (const body of [GSM_TEXT, UNICODE_TEXT, INBOUND_UNICODE]) {
          const spec = { from: INBOUND_FROM, to: INBOUND_TO, body, method }
          const req = await need(c.h.inbound?.bind(c.h), 'inbound()', 'inbound.parse')(spec)
          const out = verified(c.h.provider, req)
          assert.equal(out.events.length, 1, 'exactly one event')
          const [event] = out.events
          assert.ok(event?.type === 'inbound', 'an inbound event')
          assert.deepEqual(
            { from: event.from, to: event.to, body: event.body },
            { from: spec.from, to: spec.to, body: spec.body },
          )
          assert.ok(event.providerMessageId.length > 0, 'the provider id is kept')
          assert.ok(Number.isFinite(event.at))
          assert.deepEqual(out.answer, c.h.inboundAnswer, 'the answer the provider expects')
        }
      }
    },
  )

  defineCheck(
    'webhook.batch',
    'several reports in one callback are several events, in order',
    async (c) => {
      const build = need(c.h.statusBatch?.bind(c.h), 'statusBatch()', 'webhook.batch')
      const method = need(c.h.webhookMethods?.status?.[0], 'webhookMethods.status', 'webhook.batch')
      const row = finalRow(c.h, 'webhook.batch')
      const specs = [1, 2, 3].map(() => statusSpec(c.h, method, 'webhook.batch'))
      const out = verified(c.h.provider, await build(specs))
      assert.deepEqual(
        out.events.map((e) => [e.type, e.providerMessageId, e.type === 'status' ? e.status : '']),
        specs.map((s) => ['status', s.providerMessageId, row.expect.status]),
      )
    },
  )

  defineCheck(
    'webhook.malformed',
    'a signed but unreadable callback throws MalformedWebhook or yields nothing',
    async (c) => {
      const malformed = need(c.h.malformed?.bind(c.h), 'malformed()', 'webhook.malformed')
      const kinds = [...new Set(callbackKinds(c.h, 'webhook.malformed').map((k) => k.kind))]
      for (const kind of kinds) {
        const list = await malformed(kind)
        assert.ok(list.length > 0, `malformed('${kind}') gave no callbacks`)
        for (const req of list) {
          let outcome: WebhookOutcome
          try {
            outcome = need(
              c.h.provider.handleWebhook?.bind(c.h.provider),
              'handleWebhook',
              'webhook.malformed',
            )(req)
          } catch (err) {
            assert.equal((err as Error).name, 'MalformedWebhook', `threw ${String(err)}`)
            continue
          }
          if (outcome.verified)
            assert.deepEqual(outcome.events, [], 'no event from an unreadable callback')
        }
      }
    },
  )

  defineCheck(
    'webhook.unsigned',
    'unsigned and garbage callbacks are refused, never thrown on',
    async (c) => {
      for (const { kind, method, req } of await everyCallback(c, 'webhook.unsigned')) {
        const url = new URL(req.url)
        const bare = `${url.origin}${url.pathname}`
        const get = method === 'GET'
        const garbage: [string, WebhookRequest][] = [
          ['an empty callback', { kind, method, url: bare, headers: {}, rawBody: Buffer.alloc(0) }],
          [
            'plausible fields without a signature',
            get
              ? {
                  kind,
                  method,
                  url: `${bare}?MessageSid=SM1&MessageStatus=delivered&messageId=1&status=delivered&msisdn=15555550100&text=hi`,
                  headers: {},
                  rawBody: Buffer.alloc(0),
                }
              : {
                  kind,
                  method,
                  url: bare,
                  headers: { 'content-type': 'application/json' },
                  rawBody: Buffer.from('[{"providerMessageId":"x","status":"delivered"}]'),
                },
          ],
          [
            'random bytes',
            {
              kind,
              method,
              url: bare,
              headers: { 'content-type': 'application/octet-stream' },
              rawBody: Buffer.from([0xff, 0x00, 0xfe, 0x7b, 0x22]),
            },
          ],
        ]
        const stripped = new Set(c.h.signatureHeaders ?? [])
        if (stripped.size > 0) {
          const headers = Object.fromEntries(
            Object.entries(req.headers).filter(([k]) => !stripped.has(k.toLowerCase())),
          )
          garbage.push(['a valid callback without its signature headers', { ...req, headers }])
        }
        for (const [what, bad] of garbage) refused(c.h.provider, bad, `${what} (${method} ${kind})`)
      }
    },
  )

  defineCheck(
    'webhook.get',
    'callbacks by GET, signed over their query, verify and parse',
    async (c) => {
      const gets = callbackKinds(c.h, 'webhook.get').filter((k) => k.method === 'GET')
      assert.ok(gets.length > 0, "no GET callbacks declared: skip 'webhook.get' with the reason")
      for (const { kind } of gets) {
        const req = await build(c.h, kind, 'GET', 'webhook.get')
        assert.equal(req.method, 'GET')
        assert.notEqual(
          new URL(req.url).search,
          '',
          'a GET callback carries its fields in the query',
        )
        const out = verified(c.h.provider, req)
        assert.equal(out.events.length, 1, `one ${kind} event`)
        assert.equal(out.events[0]?.type, kind)
      }
    },
  )

  defineCheck('tamper.query', 'changing any one query value refuses the callback', async (c) => {
    let tried = 0
    for (const { kind, method, req } of await everyCallback(c, 'tamper.query')) {
      const [base, query] = req.url.split('?', 2) as [string, string | undefined]
      if (!query) continue
      const pairs = query.split('&')
      pairs.forEach((pair, i) => {
        const changed = pairs.map((p, j) => (j === i ? `${p}x` : p)).join('&')
        tried++
        refused(
          c.h.provider,
          { ...req, url: `${base}?${changed}` },
          `${method} ${kind} with "${pair.split('=')[0]}" changed`,
        )
      })
    }
    assert.ok(tried > 0, "no callback URL carries a query: skip 'tamper.query' with the reason")
  })

  defineCheck('tamper.header', 'changing a signature header refuses the callback', async (c) => {
    const names = need(c.h.signatureHeaders, 'signatureHeaders', 'tamper.header')
    assert.ok(names.length > 0, "no signature headers: skip 'tamper.header' with the reason")
    for (const { kind, method, req } of await everyCallback(c, 'tamper.header')) {
      for (const name of names) {
        const value = req.headers[name]
        assert.equal(typeof value, 'string', `the ${method} ${kind} callback has a ${name} header`)
        const headers = { ...req.headers, [name]: alter(value as string) }
        refused(c.h.provider, { ...req, headers }, `${method} ${kind} with ${name} changed`)
      }
    }
  })

  defineCheck('tamper.body', 'changing the body refuses the callback', async (c) => {
    let tried = 0
    for (const { kind, method, req } of await everyCallback(c, 'tamper.body')) {
      if (req.rawBody.length === 0) continue
      const text = req.rawBody.toString('latin1')
      // Alphanumeric positions, so the body stays well-formed and only its meaning changes.
      const positions = [...text.matchAll(/[A-Za-z0-9]/g)].map((m) => m.index)
      const picks = [positions[Math.floor(positions.length / 2)], positions.at(-1)]
      for (const at of picks) {
        if (at === undefined) continue
        tried++
        const rawBody = Buffer.from(alter(text, at), 'latin1')
        refused(
          c.h.provider,
          { ...req, rawBody },
          `${method} ${kind} with its body changed at ${at}`,
        )
      }
    }
    assert.ok(tried > 0, "no callback has a body: skip 'tamper.body' with the reason")
  })

  defineCheck('tamper.url', 'the same callback at another host or path is refused', async (c) => {
    for (const { kind, method, req } of await everyCallback(c, 'tamper.url')) {
      const url = new URL(req.url)
      const otherHost = req.url.replace(url.host, 'elsewhere.example.net')
      const otherPath = req.url.replace(
        url.pathname,
        url.pathname.replace('/webhooks/', '/webhooks/other-'),
      )
      refused(c.h.provider, { ...req, url: otherHost }, `${method} ${kind} at another host`)
      refused(c.h.provider, { ...req, url: otherPath }, `${method} ${kind} at another path`)
    }
  })

  defineCheck(
    'instances.side_by_side',
    "two instances of one type refuse each other's callbacks",
    async (c) => {
      const b = await c.another({ alternate: true })
      for (const { kind, method, req } of await everyCallback(c, 'instances.side_by_side')) {
        verified(c.h.provider, req)
        refused(b, req, `A's ${method} ${kind} callback at B`)
      }
      for (const { kind, method, req } of await everyCallback(c, 'instances.side_by_side', {
        alternate: true,
      })) {
        verified(b, req)
        refused(c.h.provider, req, `B's ${method} ${kind} callback at A`)
      }
    },
  )
}

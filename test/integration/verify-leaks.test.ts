import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { after, before, test } from 'node:test'
import { sql } from 'kysely'
import { createLogger } from '../../src/logger.js'
import { startTestSwitchboard, waitFor, type TestSwitchboard } from '../support/harness.js'
import { codeIn, handsetText, scriptedDigits } from '../support/verify.js'

/**
 * Issue 10 point 7: after a run of the Verify API (sends, a re-send, wrong and right checks, a
 * lock, status webhooks, a data export and erasure), no code is in any log line (level trace),
 * any API answer but the simulated phone's, any webhook received, or any column of any table.
 */
const CODES = ['847261', '390572', '615938']
const PHONES = ['+14155552001', '+14155552002', '+14155552003']

let t: TestSwitchboard
let hooks: Server
const lines: string[] = []
const answers: string[] = []
const webhooks: string[] = []
let clock = Date.UTC(2026, 0, 5, 12, 0, 0)
const tick = () => void (clock += 200)

before(async () => {
  hooks = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      webhooks.push(body)
      res.end('ok')
    })
  })
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r))
  const port = (hooks.address() as { port: number }).port
  const digits = scriptedDigits()
  for (const c of CODES) digits.next(c)
  t = await startTestSwitchboard(
    {
      WORKER_THREAD: 'false',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_ENDPOINTS: JSON.stringify([
        {
          url: `http://127.0.0.1:${port}/hook`,
          secret: `whsec_${randomBytes(24).toString('base64')}`,
        },
      ]),
    },
    {
      now: () => clock,
      start: {
        verifyRandom: digits.random,
        logger: createLogger('trace', { write: (s: string) => void lines.push(s) }),
      },
    },
  )
})
after(async () => {
  await t?.close()
  await new Promise((r) => hooks?.close(r))
})

/** Every answer is kept for the scan (the simulated phone's are not: they show the code). */
async function call(method: 'GET' | 'POST', url: string, payload?: unknown, key?: string) {
  const res = await t.inject({
    method,
    url,
    headers: t.auth(key ?? t.keys.admin),
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  })
  answers.push(JSON.stringify(res.headers) + res.body)
  return res
}

test('no code leaks into logs, answers, webhooks or tables', async () => {
  // The clock's timestamps cannot contain a code by chance.
  for (const c of CODES) assert.ok(!String(clock).includes(c))

  // 1: sent, re-sent, a wrong code, then the code from the phone.
  const a = (await call('POST', '/v1/verifications', { to: PHONES[0] })).json<{ id: string }>()
  const code = codeIn(await handsetText(t, PHONES[0] as string, a.id, tick))
  assert.equal(code, CODES[0])
  await call('POST', '/v1/verifications', { to: PHONES[0] })
  assert.equal(codeIn(await handsetText(t, PHONES[0] as string, a.id, tick)), CODES[0])
  await call('POST', '/v1/verifications/check', { id: a.id, code: '000000' })
  const ok = await call('POST', '/v1/verifications/check', { to: PHONES[0], code })
  assert.equal(ok.json<{ status: string }>().status, 'approved')

  // 2: locked by wrong codes. 3: left pending.
  const b = (await call('POST', '/v1/verifications', { to: PHONES[1] })).json<{ id: string }>()
  await handsetText(t, PHONES[1] as string, b.id, tick)
  for (let i = 0; i < 5; i++) await call('POST', '/v1/verifications/check', { id: b.id, code: '1' })
  const c = (await call('POST', '/v1/verifications', { to: PHONES[2], locale: 'de' })).json<{
    id: string
  }>()
  assert.equal(codeIn(await handsetText(t, PHONES[2] as string, c.id, tick)), CODES[2])

  // Reads, the message log, stats, a data export and an erasure.
  for (const v of [a, b, c]) {
    const got = await call('GET', `/v1/verifications/${v.id}`)
    const messageId = got.json<{ messageId: string }>().messageId
    await call('GET', `/v1/messages/${messageId}?include=events`)
    await call('GET', `/v1/messages/${messageId}/webhooks`)
  }
  await call('GET', '/v1/messages?limit=50')
  await call('GET', '/v1/verifications/stats')
  const exported = await call(
    'GET',
    `/v1/privacy/export?phone=${encodeURIComponent(PHONES[1] as string)}`,
  )
  const held = exported.json<{ data: Record<string, { id?: string; code_hmac?: unknown }[]> }>()
  assert.deepEqual(
    held.data.verifications?.map((v) => v.id),
    [b.id],
  )
  assert.equal(held.data.verificationSends?.length, 1)
  assert.ok(!('code_hmac' in (held.data.verifications?.[0] ?? {})))
  await call('POST', '/v1/privacy/erase', { phone: PHONES[1] })
  const left = await t.sb.store.db.kysely
    .selectFrom('verification_sends')
    .select('id')
    .where('to_number', '=', PHONES[1] as string)
    .execute()
  assert.equal(left.length, 0)
  assert.equal(await t.sb.store.verify.get(b.id), undefined)
  await waitFor(() => (webhooks.length >= 9 ? true : undefined), 10_000, 'status webhooks')

  const leaks = (where: string, texts: readonly string[]) =>
    texts.flatMap((s, i) =>
      CODES.filter((k) => s.includes(k)).map((k) => `${where}[${i}] has ${k}`),
    )
  // The logger ran at trace: the refused checks were logged (4xx at info).
  assert.ok(
    lines.some((l) => l.includes('request rejected')),
    `the log was captured: ${lines.length} lines ${lines.slice(0, 3).join('')}`,
  )
  assert.deepEqual(leaks('log', lines), [])
  assert.deepEqual(leaks('answer', answers), [])
  assert.deepEqual(leaks('webhook', webhooks), [])

  // Every column of every table.
  const db = t.sb.store.db.kysely
  const tables = await db.introspection.getTables()
  assert.ok(tables.some((x) => x.name === 'verifications'))
  const found: string[] = []
  for (const table of tables) {
    const rows = await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(table.name)}`.execute(
      db,
    )
    for (const row of rows.rows) {
      for (const [col, value] of Object.entries(row)) {
        const text =
          value instanceof Uint8Array ? Buffer.from(value).toString('latin1') : String(value)
        for (const k of CODES) if (text.includes(k)) found.push(`${table.name}.${col} has ${k}`)
      }
    }
  }
  assert.deepEqual(found, [])
})

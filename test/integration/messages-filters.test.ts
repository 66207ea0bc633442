// Risk: the message log's `number` (to or from) and `provider` filters miss messages, match the
// wrong ones, lose them across pages, or scan the whole table for a number.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { CompiledQuery, sql } from 'kysely'
import { startTestSwitchboard, TEST_DB, waitFor, type TestSwitchboard } from '../support/harness.js'

interface Msg {
  id: string
  direction: string
  to: string
  from: string | null
  status: string
  provider: string | null
}
interface Page {
  data: Msg[]
  nextCursor: string | null
}

const A = '+14155550101'
const B = '+14155550102'

describe('GET /v1/messages: number and provider filters', () => {
  let t: TestSwitchboard
  const ids: Record<string, string> = {}

  before(async () => {
    t = await startTestSwitchboard({ DEFAULT_COUNTRY: 'US' })
    const send = async (name: string, to: string) => {
      const res = await t.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: t.auth(t.keys.write),
        payload: { to, body: `filters ${name}` },
      })
      assert.equal(res.statusCode, 202, res.body)
      ids[name] = res.json<{ id: string }>().id
    }
    await send('toA1', A)
    await send('toB', B)
    await send('toA2', A)
    const res = await t.inject({
      method: 'POST',
      url: '/v1/simulator/inbound',
      headers: t.auth(),
      payload: { from: A, body: 'filters inbound' },
    })
    assert.equal(res.statusCode, 201, res.body)
    ids.fromA = res.json<{ id: string }>().id
    await waitFor(
      async () => {
        const page = await list('')
        return page.data.every((m) => m.provider !== null) ? true : undefined
      },
      10_000,
      'every message has its provider',
    )
    // One message went through another instance (as after a failover).
    await t.sb.store.db.kysely
      .updateTable('messages')
      .set({ provider: 'backup' })
      .where('id', '=', ids.toA2!)
      .execute()
  })
  after(() => t.close())

  async function list(query: string): Promise<Page> {
    const res = await t.inject({
      method: 'GET',
      url: `/v1/messages${query}`,
      headers: t.auth(t.keys.read),
    })
    assert.equal(res.statusCode, 200, res.body)
    return res.json<Page>()
  }
  const idsOf = (p: Page) => p.data.map((m) => m.id)

  test('number matches messages sent to it and received from it, newest first', async () => {
    const page = await list(`?number=${encodeURIComponent(A)}`)
    assert.deepEqual(idsOf(page), [ids.fromA, ids.toA2, ids.toA1])
    assert.equal(page.nextCursor, null)
    // A national number is read with DEFAULT_COUNTRY, like `to`.
    assert.deepEqual(idsOf(await list('?number=(415)%20555-0102')), [ids.toB])
    // With another filter, both apply.
    assert.deepEqual(idsOf(await list(`?number=${encodeURIComponent(A)}&direction=inbound`)), [
      ids.fromA,
    ])
    assert.deepEqual(idsOf(await list('?number=%2B14155550199')), [])
  })

  test('number pages with the cursor without losing or repeating a message', async () => {
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: Page = await list(
        `?number=${encodeURIComponent(A)}&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      )
      seen.push(...idsOf(page))
      cursor = page.nextCursor
    } while (cursor)
    assert.deepEqual(seen, [ids.fromA, ids.toA2, ids.toA1])
  })

  test('provider matches the instance a message went through', async () => {
    assert.deepEqual(idsOf(await list('?provider=backup')), [ids.toA2])
    const sim = (await list(`?provider=simulator`)).data
    assert.deepEqual(
      sim.map((m) => m.id),
      [ids.fromA, ids.toB, ids.toA1],
    )
    assert.ok(sim.every((m) => m.provider === 'simulator'))
    assert.deepEqual(idsOf(await list('?provider=nobody')), [])
    assert.deepEqual(idsOf(await list(`?provider=simulator&number=${encodeURIComponent(A)}`)), [
      ids.fromA,
      ids.toA1,
    ])
  })

  test('a number that is not one is refused with invalid_phone_number naming the field', async () => {
    const res = await t.inject({
      method: 'GET',
      url: '/v1/messages?number=12',
      headers: t.auth(t.keys.read),
    })
    assert.equal(res.statusCode, 422, res.body)
    const err = res.json<{ error: { code: string; details: { field: string } } }>().error
    assert.equal(err.code, 'invalid_phone_number')
    assert.equal(err.details.field, 'number')
    const empty = await t.inject({
      method: 'GET',
      url: '/v1/messages?provider=',
      headers: t.auth(t.keys.read),
    })
    assert.equal(empty.statusCode, 422, empty.body)
    assert.equal(empty.json<{ error: { code: string } }>().error.code, 'validation_failed')
  })

  test('the number filter reads both number indexes, not the whole table', async () => {
    const names =
      TEST_DB === 'sqlite'
        ? await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'index'`.execute(
            t.sb.store.db.kysely,
          )
        : await sql<{
            name: string
          }>`SELECT indexname AS name FROM pg_indexes WHERE tablename = 'messages' AND schemaname = current_schema()`.execute(
            t.sb.store.db.kysely,
          )
    const have = names.rows.map((r) => r.name)
    assert.ok(have.includes('messages_from'), have.join(', '))
    if (TEST_DB !== 'sqlite') return
    // SQLite's plan for the store's own query: one index per side of the OR.
    const q = t.sb.store.db.kysely
      .selectFrom('messages')
      .select('id')
      .where((eb) => eb.or([eb('to_number', '=', A), eb('from_number', '=', A)]))
      .orderBy('id', 'desc')
      .limit(51)
      .compile()
    const plan = await t.sb.store.db.kysely.executeQuery<{ detail: string }>(
      CompiledQuery.raw(`EXPLAIN QUERY PLAN ${q.sql}`, [...q.parameters]),
    )
    const text = plan.rows.map((r) => r.detail).join('\n')
    assert.match(text, /INDEX messages_to/, text)
    assert.match(text, /INDEX messages_from/, text)
  })
})

// Risk covered: inbound SMS not threaded (or threaded twice when a webhook is replayed), a
// reply or an earlier outbound message missing from its thread or shown in another one, a
// closed conversation that stays closed (and read) when the contact writes again, filters,
// full-text search or pagination that lose or repeat conversations, an opt-out in free text
// that nobody gets to see.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import pino from 'pino'
import type { ProviderEvent } from '../../src/providers/provider.js'
import { ReportIngestor } from '../../src/queue/report.ingestor.js'
import { inboundEffects } from '../../src/usecases/inbound.js'
import { startTestSwitchboard, TEST_DB, waitFor, type TestSwitchboard } from '../support/harness.js'

const OURS = '+15005550006'
const OTHER = '+15005550007'
type Inbound = Extract<ProviderEvent, { type: 'inbound' }>

interface Flag {
  type: string
  messageId: string
  at: string
}
interface Conv {
  id: string
  contact: { id: string; phone: string; createdAt: string }
  number: string
  status: 'open' | 'closed'
  unread: boolean
  assignee: string | null
  lastMessageAt: string
  flags: Flag[]
}
interface Msg {
  id: string
  direction: string
  from: string | null
  to: string
  body: string
  status: string
}
type ConvWithMessages = Conv & { messages: Msg[]; olderCursor: string | null }

describe(`conversations (${TEST_DB})`, () => {
  let t: TestSwitchboard
  let ingestor: ReportIngestor
  // Inbound times: an hour ago and on, a second apart, so every inbound has its own time and
  // a reply (stamped with the real clock) is later than all of them.
  let clock = Date.now() - 3_600_000
  let seq = 0

  before(async () => {
    t = await startTestSwitchboard({
      // Messages without `from` go out from OURS: the sender the send worker records.
      ROUTES: JSON.stringify([{ providers: ['simulator'], senders: [OURS] }]),
    })
    ingestor = new ReportIngestor(
      t.sb.store,
      pino({ level: 'silent' }),
      () => clock,
      inboundEffects(t.sb.store),
    )
  })
  after(() => t.close())

  /** Delivers an inbound SMS as a provider webhook would; returns its provider id. */
  const receive = async (from: string, body: string, to = OURS, id = `SM${++seq}`) => {
    clock += 1000
    const e: Inbound = { type: 'inbound', providerMessageId: id, from, to, body, at: clock }
    await ingestor.ingest('simulator', [e])
    return id
  }
  const get = async <T>(url: string, key = t.keys.read) => {
    const res = await t.inject({ method: 'GET', url, headers: t.auth(key) })
    assert.equal(res.statusCode, 200, res.body)
    return res.json<T>()
  }
  const post = (url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    t.inject({
      method: 'POST',
      url,
      headers: { ...t.auth(t.keys.write), ...headers },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    })
  const list = async (query = '') =>
    (await get<{ data: Conv[]; nextCursor: string | null }>(`/v1/conversations${query}`)).data
  const byPhone = async (phone: string, number = OURS) => {
    const found = (await list('?limit=200')).filter(
      (c) => c.contact.phone === phone && c.number === number,
    )
    assert.equal(found.length, 1, `one conversation of ${phone} with ${number}`)
    return found[0]!
  }
  const thread = (id: string, query = '') =>
    get<ConvWithMessages>(`/v1/conversations/${id}${query}`)
  const send = async (payload: Record<string, unknown>) => {
    const res = await post('/v1/messages', payload)
    assert.equal(res.statusCode, 202, res.body)
    return res.json<Msg>()
  }
  const sentStatus = (id: string) =>
    waitFor(
      async () => {
        const m = await get<Msg>(`/v1/messages/${id}`)
        return ['sent', 'delivered'].includes(m.status) ? m : undefined
      },
      10_000,
      `message ${id} sent`,
    )
  const count = async (table: 'contacts' | 'conversations') =>
    Number(
      (
        await t.sb.store.db.kysely
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    )

  test('an inbound SMS makes a contact and an open, unread conversation; a replay makes nothing more', async () => {
    const phone = '+14155550101'
    const [contacts, conversations] = [await count('contacts'), await count('conversations')]
    const id = await receive(phone, 'Hello, is anyone there?')
    const c = await byPhone(phone)
    assert.equal(c.status, 'open')
    assert.equal(c.unread, true)
    assert.equal(c.assignee, null)
    assert.deepEqual(c.flags, [])
    assert.match(c.id, /^conv_/)
    assert.equal(c.lastMessageAt, new Date(clock).toISOString())
    assert.equal(await count('contacts'), contacts + 1)
    assert.equal(await count('conversations'), conversations + 1)

    assert.equal((await post(`/v1/conversations/${c.id}/read`)).statusCode, 200)
    // The provider sends the same webhook again: stored once, threaded once, still read.
    clock += 1000
    await ingestor.ingest('simulator', [
      { type: 'inbound', providerMessageId: id, from: phone, to: OURS, body: 'x', at: clock },
    ])
    assert.equal(await count('contacts'), contacts + 1)
    assert.equal(await count('conversations'), conversations + 1)
    const again = await thread(c.id)
    assert.equal(again.unread, false)
    assert.equal(again.lastMessageAt, c.lastMessageAt)
    assert.equal(again.messages.length, 1)

    // A second number the same person texts: the same contact, another conversation.
    await receive(phone, 'and you?', OTHER)
    const other = await byPhone(phone, OTHER)
    assert.notEqual(other.id, c.id)
    assert.equal(other.contact.id, c.contact.id)
    assert.equal(await count('contacts'), contacts + 1)
  })

  test('inbound from a new number arriving at once makes one contact and one conversation', async () => {
    const phones = Array.from({ length: 8 }, (_, i) => `+1415555040${i}`)
    const [contacts, conversations] = [await count('contacts'), await count('conversations')]
    await Promise.all(
      phones.flatMap((from) =>
        [1, 2, 3].map((n) =>
          ingestor.ingest('simulator', [
            {
              type: 'inbound',
              providerMessageId: `race-${from}-${n}`,
              from,
              to: OURS,
              body: `at once ${n}`,
              at: clock,
            },
          ]),
        ),
      ),
    )
    assert.equal(await count('contacts'), contacts + phones.length)
    assert.equal(await count('conversations'), conversations + phones.length)
    for (const phone of phones) {
      const c = await byPhone(phone)
      assert.equal((await thread(c.id)).messages.length, 3, phone)
    }
  })

  test('a thread holds inbound and outbound between the contact and its number, oldest first', async () => {
    const phone = '+14155550102'
    // Sent before the contact ever wrote: it joins the thread once the conversation exists.
    const early = await send({ to: phone, from: OURS, body: 'Your order shipped' })
    await sentStatus(early.id)
    await receive(phone, 'Where is it now?')
    const c = await byPhone(phone)
    // Without `from`: the route's sticky sender, recorded by the send worker.
    const sticky = await send({ to: phone, body: 'It is out for delivery' })
    const stickySent = await sentStatus(sticky.id)
    assert.equal(stickySent.from, null)
    // Not this thread: another number, another recipient.
    const otherNumber = await send({ to: phone, from: OTHER, body: 'From elsewhere' })
    const otherPhone = await send({ to: '+14155550199', from: OURS, body: 'Someone else' })
    await sentStatus(otherNumber.id)
    await sentStatus(otherPhone.id)
    await receive('+14155550199', 'not this thread either')
    await receive(phone, 'Thanks!')

    const got = await thread(c.id)
    assert.deepEqual(
      got.messages.map((m) => [m.direction, m.body]),
      [
        ['outbound', 'Your order shipped'],
        ['inbound', 'Where is it now?'],
        ['outbound', 'It is out for delivery'],
        ['inbound', 'Thanks!'],
      ],
    )
    assert.ok(
      got.messages.every((m) => ['sent', 'delivered', 'received'].includes(m.status)),
      'each with its status',
    )
    assert.equal(got.olderCursor, null)

    // A page of the latest two, then the older ones.
    const latest = await thread(c.id, '?limit=2')
    assert.deepEqual(
      latest.messages.map((m) => m.body),
      ['It is out for delivery', 'Thanks!'],
    )
    assert.ok(latest.olderCursor)
    const older = await thread(c.id, `?limit=2&before=${latest.olderCursor}`)
    assert.deepEqual(
      older.messages.map((m) => m.body),
      ['Your order shipped', 'Where is it now?'],
    )
    assert.equal(older.olderCursor, null)
    const bad = await t.inject({
      method: 'GET',
      url: `/v1/conversations/${c.id}?before=nope`,
      headers: t.auth(t.keys.read),
    })
    assert.equal(bad.statusCode, 422)
    assert.equal(bad.json<{ error: { code: string } }>().error.code, 'invalid_cursor')
  })

  test('a reply goes through the send pipeline from the conversation number, idempotently', async () => {
    const phone = '+14155550103'
    await receive(phone, 'Can I change my address?')
    const c = await byPhone(phone)
    const headers = { 'idempotency-key': `reply-${c.id}` }
    const res = await post(
      `/v1/conversations/${c.id}/messages`,
      { body: 'Sure, which one?' },
      headers,
    )
    assert.equal(res.statusCode, 202, res.body)
    const m = res.json<Msg>()
    assert.equal(m.direction, 'outbound')
    assert.equal(m.from, OURS)
    assert.equal(m.to, phone)
    assert.equal(m.status, 'queued')
    const replay = await post(
      `/v1/conversations/${c.id}/messages`,
      { body: 'Sure, which one?' },
      headers,
    )
    assert.equal(replay.statusCode, 202)
    assert.equal(replay.headers['idempotent-replayed'], 'true')
    assert.equal(replay.body, res.body)
    await sentStatus(m.id)

    const got = await thread(c.id)
    assert.deepEqual(
      got.messages.map((x) => x.body),
      ['Can I change my address?', 'Sure, which one?'],
    )
    assert.ok(got.lastMessageAt > c.lastMessageAt, 'the reply is its latest activity')
    assert.equal((await list())[0]?.id, c.id, 'newest activity first')

    for (const [payload, code] of [
      [{ body: '' }, 'validation_failed'],
      [{ body: 'x', to: '+1' }, 'validation_failed'],
    ] as const) {
      const bad = await post(`/v1/conversations/${c.id}/messages`, payload)
      assert.equal(bad.statusCode, 422, bad.body)
      assert.equal(bad.json<{ error: { code: string } }>().error.code, code)
    }
    const unknown = await post('/v1/conversations/conv_nope/messages', { body: 'hi' })
    assert.equal(unknown.statusCode, 404)
    assert.equal(unknown.json<{ error: { code: string } }>().error.code, 'not_found')
    const readOnly = await t.inject({
      method: 'POST',
      url: `/v1/conversations/${c.id}/messages`,
      headers: t.auth(t.keys.read),
      payload: { body: 'hi' },
    })
    assert.equal(readOnly.statusCode, 403)
  })

  test('assign, close, reopen and read; a new inbound reopens a closed conversation, unread', async () => {
    const phone = '+14155550104'
    await receive(phone, 'Hi')
    const c = await byPhone(phone)
    const act = async (path: string, payload?: unknown) => {
      const res = await post(`/v1/conversations/${c.id}/${path}`, payload)
      assert.equal(res.statusCode, 200, `${path}: ${res.body}`)
      return res.json<Conv>()
    }
    assert.equal((await act('assign', { assignee: 'alice' })).assignee, 'alice')
    assert.equal((await act('read')).unread, false)
    const closed = await act('close')
    assert.equal(closed.status, 'closed')
    assert.equal(closed.assignee, 'alice')
    assert.equal((await act('reopen')).status, 'open')
    await act('close')

    await receive(phone, 'Me again')
    const reopened = (await thread(c.id)) as Conv
    assert.equal(reopened.status, 'open')
    assert.equal(reopened.unread, true)
    assert.equal(reopened.assignee, 'alice', 'still assigned')
    assert.equal(reopened.lastMessageAt, new Date(clock).toISOString())

    assert.equal((await act('assign', { assignee: null })).assignee, null)
    const bad = await post(`/v1/conversations/${c.id}/assign`, { assignee: 7 })
    assert.equal(bad.statusCode, 422)
    for (const path of ['assign', 'close', 'reopen', 'read', 'flags/clear']) {
      const res = await post(
        `/v1/conversations/conv_nope/${path}`,
        path === 'assign' ? { assignee: 'bob' } : undefined,
      )
      assert.equal(res.statusCode, 404, path)
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'not_found')
    }
    const unknown = await t.inject({
      method: 'GET',
      url: '/v1/conversations/conv_nope',
      headers: t.auth(t.keys.read),
    })
    assert.equal(unknown.statusCode, 404)
  })

  test('free text that reads like an opt-out flags the conversation until the flags are cleared', async () => {
    const phone = '+14155550105'
    await receive(phone, 'STOP')
    const c = await byPhone(phone)
    assert.deepEqual(c.flags, [], 'a keyword is not free text')
    await receive(phone, 'Please stop texting me')
    const got = await thread(c.id)
    const asked = got.messages.find((m) => m.body === 'Please stop texting me')
    assert.ok(asked)
    assert.deepEqual(got.flags, [
      { type: 'possible_opt_out', messageId: asked.id, at: new Date(clock).toISOString() },
    ])
    assert.ok(
      (await list('?limit=200')).find((x) => x.id === c.id)?.flags.length === 1,
      'listed with its flags',
    )
    // Reading it is not resolving it.
    await post(`/v1/conversations/${c.id}/read`)
    assert.equal((await thread(c.id)).flags.length, 1)
    const cleared = await post(`/v1/conversations/${c.id}/flags/clear`)
    assert.equal(cleared.statusCode, 200)
    assert.deepEqual(cleared.json<Conv>().flags, [])
  })

  test('filters: status, assignee, unread and text over inbound and outbound bodies', async () => {
    const a = '+14155550201'
    const b = '+14155550202'
    await receive(a, 'My parcel 42% arrived DAMAGED')
    await receive(b, 'all good here')
    const ca = await byPhone(a)
    const cb = await byPhone(b)
    await post(`/v1/conversations/${cb.id}/messages`, { body: 'Glad to hear: refund_code XYZ' })
    await post(`/v1/conversations/${ca.id}/assign`, { assignee: 'carol' })
    await post(`/v1/conversations/${cb.id}/close`)
    await post(`/v1/conversations/${cb.id}/read`)

    const ids = async (query: string) => (await list(`${query}&limit=200`)).map((c) => c.id)
    const has = (found: string[], c: Conv, yes: boolean, what: string) =>
      assert.equal(found.includes(c.id), yes, `${what}: ${c.contact.phone}`)

    const closed = await ids('?status=closed')
    has(closed, cb, true, 'closed')
    has(closed, ca, false, 'closed')
    const open = await ids('?status=open')
    has(open, ca, true, 'open')
    has(open, cb, false, 'open')
    assert.deepEqual(await ids('?assignee=carol'), [ca.id])
    const unread = await ids('?unread=true')
    has(unread, ca, true, 'unread')
    has(unread, cb, false, 'unread')
    const read = await ids('?unread=false')
    has(read, cb, true, 'read')
    has(read, ca, false, 'read')
    assert.ok((await list('?unread=true')).every((c) => c.unread))

    // Case-insensitive, inbound and outbound, and `%`/`_` taken literally.
    assert.deepEqual(await ids('?q=damaged'), [ca.id])
    assert.deepEqual(await ids('?q=42%25'), [ca.id])
    assert.deepEqual(await ids('?q=2%25 a'), [ca.id])
    assert.deepEqual(await ids('?q=REFUND_code'), [cb.id])
    assert.deepEqual(await ids('?q=refund%25code'), [])
    assert.deepEqual(await ids('?q=d_maged'), [])
    assert.deepEqual(await ids('?q=all good&status=open'), [])
    assert.deepEqual(await ids('?q=all good&status=closed'), [cb.id])

    for (const query of ['?status=pending', '?unread=maybe', '?q=', '?nope=1', '?limit=0']) {
      const res = await t.inject({
        method: 'GET',
        url: `/v1/conversations${query}`,
        headers: t.auth(t.keys.read),
      })
      assert.equal(res.statusCode, 422, query)
    }
  })

  test('cursor pagination walks every conversation once, newest activity first', async () => {
    for (let i = 0; i < 5; i++) await receive(`+1415555030${i}`, `page ${i}`)
    const all = await list('?limit=200')
    const times = all.map((c) => c.lastMessageAt)
    assert.deepEqual(
      times,
      [...times].sort((x, y) => (x < y ? 1 : x > y ? -1 : 0)),
      'newest activity first',
    )
    assert.deepEqual(
      all.map((c) => c.contact.phone).filter((p) => p.startsWith('+141555503')),
      ['+14155550304', '+14155550303', '+14155550302', '+14155550301', '+14155550300'],
      'the latest inbound first',
    )

    const walked: string[] = []
    let cursor: string | null = null
    do {
      const page: { data: Conv[]; nextCursor: string | null } = await get(
        `/v1/conversations?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      )
      assert.ok(page.data.length <= 2)
      walked.push(...page.data.map((c) => c.id))
      cursor = page.nextCursor
    } while (cursor)
    assert.deepEqual(
      walked,
      all.map((c) => c.id),
    )

    const bad = await t.inject({
      method: 'GET',
      url: '/v1/conversations?cursor=bm9wZQ',
      headers: t.auth(t.keys.read),
    })
    assert.equal(bad.statusCode, 422)
    assert.equal(bad.json<{ error: { code: string } }>().error.code, 'invalid_cursor')
    const noKey = await t.inject({ method: 'GET', url: '/v1/conversations' })
    assert.equal(noKey.statusCode, 401)
  })
})

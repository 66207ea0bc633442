// Risk: the list of verifications (the dashboard's Verify log) leaks a code, its HMAC or its
// sealed parts, shows another status than GET /v1/verifications/{id}, filters or pages wrongly,
// or is open to a key without the read scope.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestSwitchboard, type TestSwitchboard } from '../support/harness.js'
import { scriptedDigits } from '../support/verify.js'

interface View {
  id: string
  to: string
  status: string
  attempts: number
}
interface ListPage {
  data: View[]
  nextCursor: string | null
}

describe('GET /v1/verifications', () => {
  let t: TestSwitchboard
  const t0 = Date.UTC(2026, 0, 5, 12, 0, 0)
  let clock = t0
  const digits = scriptedDigits()
  const numbers = ['+14155552001', '+14155552002', '+14155552003', '+14155552004']
  const codes = ['314159', '271828', '161803', '141421']
  const ids: string[] = []
  /** Every answer of this suite, searched for codes and stored secrets at the end. */
  const answers: string[] = []

  const get = async (url: string, key?: string) => {
    const res = await t.inject({ method: 'GET', url, headers: t.auth(key ?? t.keys.read) })
    answers.push(res.body)
    return res
  }
  const list = async (query: string) => {
    const res = await get(`/v1/verifications${query}`)
    assert.equal(res.statusCode, 200, res.body)
    return res.json<ListPage>()
  }
  const idsOf = (p: ListPage) => p.data.map((v) => ids.indexOf(v.id))

  before(async () => {
    t = await startTestSwitchboard(
      { WORKER_THREAD: 'false' },
      { now: () => clock, start: { verifyRandom: digits.random } },
    )
    // Four verifications a second apart; the last lives 60 s, the others 600 s.
    for (const [i, to] of numbers.entries()) {
      clock = t0 + i * 1000
      digits.next(codes[i] as string)
      const res = await t.inject({
        method: 'POST',
        url: '/v1/verifications',
        headers: t.auth(t.keys.write),
        payload: i === 3 ? { to, ttl: 60 } : { to },
      })
      assert.equal(res.statusCode, 201, res.body)
      ids.push(res.json<{ id: string }>().id)
    }
    const check = async (id: string, code: string) => {
      const res = await t.inject({
        method: 'POST',
        url: '/v1/verifications/check',
        headers: t.auth(t.keys.write),
        payload: { id, code },
      })
      answers.push(res.body)
      return res.json<{ status: string }>().status
    }
    clock = t0 + 5000
    assert.equal(await check(ids[0] as string, codes[0] as string), 'approved')
    assert.equal(await check(ids[1] as string, '000000'), 'pending')
    // The fourth is still pending in the table, past its expiry: shown as expired.
    clock = t0 + 3000 + 60_000
  })
  after(async () => t?.close())

  test('newest first, each entry the view of GET /v1/verifications/{id}', async () => {
    const page = await list('')
    assert.deepEqual(idsOf(page), [3, 2, 1, 0])
    assert.equal(page.nextCursor, null)
    for (const v of page.data) {
      const one = await get(`/v1/verifications/${v.id}`)
      assert.equal(one.statusCode, 200)
      assert.deepEqual(v, one.json())
    }
    assert.deepEqual(
      page.data.map((v) => [v.to, v.status, v.attempts]),
      [
        [numbers[3], 'expired', 0],
        [numbers[2], 'pending', 0],
        [numbers[1], 'pending', 1],
        [numbers[0], 'approved', 0],
      ],
    )
  })

  test('filters: status as shown, number, period', async () => {
    assert.deepEqual(idsOf(await list('?status=pending')), [2, 1])
    assert.deepEqual(idsOf(await list('?status=approved')), [0])
    assert.deepEqual(idsOf(await list('?status=expired')), [3])
    assert.deepEqual(idsOf(await list('?status=locked')), [])
    assert.deepEqual(idsOf(await list(`?to=${encodeURIComponent(numbers[1] as string)}`)), [1])
    const after = new Date(t0 + 1000).toISOString()
    const before = new Date(t0 + 3000).toISOString()
    assert.deepEqual(idsOf(await list(`?createdAfter=${after}&createdBefore=${before}`)), [2, 1])
    assert.deepEqual(
      idsOf(await list(`?status=pending&createdAfter=${new Date(t0 + 2000).toISOString()}`)),
      [2],
    )
    const bad = await get('/v1/verifications?to=12')
    assert.equal(bad.statusCode, 422)
    assert.equal(bad.json<{ error: { code: string } }>().error.code, 'invalid_phone_number')
    const badStatus = await get('/v1/verifications?status=done')
    assert.equal(badStatus.statusCode, 422)
  })

  test('cursor pages meet without gaps or repeats; a foreign cursor is refused', async () => {
    const first = await list('?limit=3')
    assert.deepEqual(idsOf(first), [3, 2, 1])
    assert.ok(first.nextCursor)
    const second = await list(`?limit=3&cursor=${first.nextCursor}`)
    assert.deepEqual(idsOf(second), [0])
    assert.equal(second.nextCursor, null)
    const pending = await list('?status=pending&limit=1')
    assert.deepEqual(idsOf(pending), [2])
    assert.deepEqual(idsOf(await list(`?status=pending&limit=1&cursor=${pending.nextCursor}`)), [1])
    const foreign = await get(
      `/v1/verifications?cursor=${Buffer.from('b12').toString('base64url')}`,
    )
    assert.equal(foreign.statusCode, 422)
    assert.equal(foreign.json<{ error: { code: string } }>().error.code, 'invalid_cursor')
  })

  test('needs messages:read', async () => {
    const res = await get('/v1/verifications', t.keys.write)
    assert.equal(res.statusCode, 403)
  })

  test('no answer carries a code, its HMAC or a sealed part', async () => {
    await list('?limit=200')
    const secrets: string[] = [...codes]
    for (const id of ids) {
      const row = await t.sb.store.verify.get(id)
      assert.ok(row)
      secrets.push(row.code_hmac)
      if (row.code_cipher !== null) secrets.push(row.code_cipher)
      if (row.text_cipher !== null) secrets.push(row.text_cipher)
    }
    // A pending one still holds its sealed code: the search below has something to miss.
    assert.ok(secrets.length > codes.length + ids.length)
    assert.ok(answers.length > 10)
    for (const body of answers) {
      for (const s of secrets) assert.ok(!body.includes(s), `an answer shows ${s}`)
      assert.doesNotMatch(body, /code_?(hmac|cipher)|text_?cipher/i)
      // Only an error answer has a "code" (the error's).
      if (!body.startsWith('{"error"')) assert.doesNotMatch(body, /"code"/)
    }
    const keys = Object.keys((await list('?limit=1')).data[0] as object).sort()
    assert.deepEqual(keys, [
      'approvedAt',
      'attempts',
      'codeLength',
      'createdAt',
      'expiresAt',
      'id',
      'locale',
      'lockedUntil',
      'messageId',
      'sends',
      'status',
      'template',
      'to',
      'updatedAt',
    ])
  })
})

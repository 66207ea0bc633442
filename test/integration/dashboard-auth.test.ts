// Risk: a dashboard session does more than its role allows, a cookie request changes state
// without its CSRF token, a wrong password tells unknown users apart, brute force goes
// unlimited, or a session outlives its expiry, its logout or its revocation.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createUser } from '../../src/usecases/users.js'
import { startTestSwitchboard, type TestSwitchboard } from '../support/harness.js'

const HOUR = 3_600_000

describe('dashboard sign-in and sessions', () => {
  let t: TestSwitchboard
  let clock = Date.now()
  const users = { admin: 'root-pass-1', agent: 'agent-pass-1', viewer: 'viewer-pass-1' }

  before(async () => {
    t = await startTestSwitchboard(
      { WORKER_THREAD: 'false', SESSION_TTL_HOURS: '2' },
      { now: () => clock },
    )
    for (const role of ['admin', 'agent', 'viewer'] as const) {
      await createUser(
        { store: t.sb.store, now: () => clock },
        `${role}@example.com`,
        role,
        users[role],
      )
    }
  })
  after(async () => t.close())

  let ip = 0
  /** Each login from its own client IP unless given one, so rate limits stay per test. */
  const login = (email: string, password: string, remoteAddress = `10.0.0.${++ip}`) =>
    t.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password },
      remoteAddress,
    })

  async function session(role: keyof typeof users) {
    const res = await login(`${role}@example.com`, users[role])
    assert.equal(res.statusCode, 200, res.body)
    const cookie = String(res.headers['set-cookie']).split(';')[0]!
    const { csrfToken } = res.json<{ csrfToken: string }>()
    return { cookie, csrf: csrfToken }
  }

  const send = (headers: Record<string, string>) =>
    t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers,
      payload: { to: '+14155550100', body: 'hello' },
    })

  test('login sets an HttpOnly SameSite cookie and answers the user and a CSRF token', async () => {
    const res = await login('Admin@Example.com ', users.admin)
    assert.equal(res.statusCode, 200, res.body)
    const body = res.json<{ user: unknown; csrfToken: string }>()
    assert.deepEqual(body.user, { email: 'admin@example.com', role: 'admin' })
    assert.ok(body.csrfToken.length >= 40)
    const cookie = String(res.headers['set-cookie'])
    assert.match(cookie, /^sb_session=[A-Za-z0-9_-]{40,};/)
    assert.match(cookie, /; Path=\//)
    assert.match(cookie, /; HttpOnly/)
    assert.match(cookie, /; SameSite=Lax/)
    assert.match(cookie, /; Max-Age=7200/)
    assert.doesNotMatch(cookie, /Secure/, 'plain HTTP with an http PUBLIC_URL')
    const over = await t.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'admin@example.com', password: users.admin },
      headers: { 'x-forwarded-proto': 'https' },
      remoteAddress: '10.1.0.1',
    })
    assert.equal(over.statusCode, 200)
    // Fastify does not trust proxies here: the protocol is the socket's. PUBLIC_URL decides.
    const secureSb = await startTestSwitchboard({ PUBLIC_URL: 'https://sms.example.com' })
    try {
      await createUser(
        { store: secureSb.sb.store, now: Date.now },
        'a@example.com',
        'admin',
        'pw-123456',
      )
      const s = await secureSb.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: 'a@example.com', password: 'pw-123456' },
      })
      assert.equal(s.statusCode, 200)
      assert.match(String(s.headers['set-cookie']), /; Secure/)
    } finally {
      await secureSb.close()
    }
    const me = await t.inject({
      method: 'GET',
      url: '/auth/session',
      headers: { cookie: cookie.split(';')[0]! },
    })
    assert.equal(me.statusCode, 200)
    assert.deepEqual(me.json(), body)
  })

  test('a wrong password and an unknown e-mail get the same 401 invalid_credentials', async () => {
    const wrong = await login('admin@example.com', 'nope')
    const unknown = await login('nobody@example.com', 'nope')
    for (const res of [wrong, unknown]) {
      assert.equal(res.statusCode, 401)
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'invalid_credentials')
      assert.equal(res.headers['set-cookie'], undefined)
    }
    assert.equal(wrong.body, unknown.body)
    // Without a session the dashboard asks this on every load: 200 with no user, so a browser
    // logs no failed request on the sign-in page.
    const noSession = await t.inject({ method: 'GET', url: '/auth/session' })
    assert.equal(noSession.statusCode, 200)
    assert.deepEqual(noSession.json(), { user: null, csrfToken: null })
  })

  test('a session acts with its role scopes', async () => {
    const viewer = await session('viewer')
    const agent = await session('agent')
    const admin = await session('admin')
    const list = (cookie: string) =>
      t.inject({ method: 'GET', url: '/v1/messages', headers: { cookie } })
    assert.equal((await list(viewer.cookie)).statusCode, 200)
    const refused = await send({ cookie: viewer.cookie, 'x-csrf-token': viewer.csrf })
    assert.equal(refused.statusCode, 403)
    assert.equal(refused.json<{ error: { code: string } }>().error.code, 'insufficient_scope')
    assert.equal((await send({ cookie: agent.cookie, 'x-csrf-token': agent.csrf })).statusCode, 202)
    const keys = (s: { cookie: string }) =>
      t.inject({ method: 'GET', url: '/v1/keys', headers: { cookie: s.cookie } })
    assert.equal((await keys(agent)).statusCode, 403)
    assert.equal((await keys(admin)).statusCode, 200)
  })

  test('cookie state changes need X-CSRF-Token; Bearer keys do not', async () => {
    const agent = await session('agent')
    const cases: Record<string, string>[] = [
      { cookie: agent.cookie },
      { cookie: agent.cookie, 'x-csrf-token': 'x'.repeat(agent.csrf.length) },
      { cookie: agent.cookie, 'x-csrf-token': '' },
    ]
    for (const headers of cases) {
      const res = await send(headers)
      assert.equal(res.statusCode, 403)
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'csrf_token_invalid')
    }
    const other = await session('agent')
    assert.equal((await send({ cookie: agent.cookie, 'x-csrf-token': other.csrf })).statusCode, 403)
    assert.equal((await send(t.auth(t.keys.write))).statusCode, 202)
    // A request with an Authorization header is judged by its key alone, cookie or not.
    assert.equal((await send({ ...t.auth(t.keys.write), cookie: agent.cookie })).statusCode, 202)
    const bad = await send({
      authorization: 'Bearer nope',
      cookie: agent.cookie,
      'x-csrf-token': agent.csrf,
    })
    assert.equal(bad.statusCode, 401)
  })

  test('logout revokes the session; admins revoke a user everywhere; sessions expire', async () => {
    const a = await session('agent')
    const list = (cookie: string) =>
      t.inject({ method: 'GET', url: '/v1/messages', headers: { cookie } })
    const noCsrf = await t.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { cookie: a.cookie },
    })
    assert.equal(noCsrf.statusCode, 403)
    assert.equal((await list(a.cookie)).statusCode, 200)
    const out = await t.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { cookie: a.cookie, 'x-csrf-token': a.csrf },
    })
    assert.equal(out.statusCode, 204)
    assert.match(String(out.headers['set-cookie']), /^sb_session=; .*Max-Age=0/)
    assert.equal((await list(a.cookie)).statusCode, 401)

    const b = await session('agent')
    const c = await session('agent')
    const agentId = (await t.sb.store.users.byEmail('agent@example.com'))!.id
    const revoke = (headers: Record<string, string>) =>
      t.inject({ method: 'DELETE', url: `/v1/users/${agentId}/sessions`, headers })
    assert.equal((await revoke({ cookie: b.cookie, 'x-csrf-token': b.csrf })).statusCode, 403)
    const done = await revoke(t.auth())
    assert.equal(done.statusCode, 200)
    assert.ok(done.json<{ revoked: number }>().revoked >= 2)
    assert.equal((await list(b.cookie)).statusCode, 401)
    assert.equal((await list(c.cookie)).statusCode, 401)
    const missing = await t.inject({
      method: 'DELETE',
      url: '/v1/users/usr_nope/sessions',
      headers: t.auth(),
    })
    assert.equal(missing.statusCode, 404)

    const d = await session('viewer')
    clock += 2 * HOUR - 1
    assert.equal((await list(d.cookie)).statusCode, 200)
    clock += 1
    assert.equal((await list(d.cookie)).statusCode, 401)
    const me = await t.inject({
      method: 'GET',
      url: '/auth/session',
      headers: { cookie: d.cookie },
    })
    assert.deepEqual(me.json(), { user: null, csrfToken: null })
  })

  test('a disabled user cannot sign in, and its sessions stop working', async () => {
    await createUser(
      { store: t.sb.store, now: () => clock },
      'gone@example.com',
      'agent',
      'pw-gone-1',
    )
    const res = await login('gone@example.com', 'pw-gone-1')
    assert.equal(res.statusCode, 200)
    const cookie = String(res.headers['set-cookie']).split(';')[0]!
    await t.sb.store.db.kysely
      .updateTable('users')
      .set({ disabled_at: clock })
      .where('email', '=', 'gone@example.com')
      .execute()
    const refused = await login('gone@example.com', 'pw-gone-1')
    assert.equal(refused.statusCode, 401)
    assert.equal(refused.json<{ error: { code: string } }>().error.code, 'invalid_credentials')
    const me = await t.inject({ method: 'GET', url: '/auth/session', headers: { cookie } })
    assert.deepEqual(me.json(), { user: null, csrfToken: null })
  })

  test('10 failed sign-ins per e-mail or per client IP answer 429 with Retry-After', async () => {
    // Per e-mail, from many IPs: the right password is refused too while blocked.
    for (let i = 0; i < 10; i++) {
      assert.equal((await login('viewer@example.com', 'wrong')).statusCode, 401)
    }
    const blocked = await login('viewer@example.com', users.viewer)
    assert.equal(blocked.statusCode, 429)
    assert.equal(blocked.json<{ error: { code: string } }>().error.code, 'too_many_login_attempts')
    assert.equal(blocked.headers['retry-after'], '900')
    clock += 15 * 60_000
    assert.equal((await login('viewer@example.com', users.viewer)).statusCode, 200)

    // Per IP, over many e-mails: another address from that IP is refused too.
    for (let i = 0; i < 10; i++) {
      assert.equal((await login(`guess${i}@example.com`, 'x', '10.9.9.9')).statusCode, 401)
    }
    clock += 60_000
    const ipBlocked = await login('admin@example.com', users.admin, '10.9.9.9')
    assert.equal(ipBlocked.statusCode, 429)
    assert.equal(ipBlocked.headers['retry-after'], '840')
    assert.equal((await login('admin@example.com', users.admin, '10.9.9.10')).statusCode, 200)
  })
})

// Risk: someone other than an admin manages users, a password or its hash leaks from the API,
// a disabled user keeps working in an open session, the last admin is removed (nobody can
// manage keys or users any more), or a change goes unaudited.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createApiKey } from '../../src/usecases/api-keys.js'
import { createUser } from '../../src/usecases/users.js'
import { startTestSwitchboard, type TestSwitchboard } from '../support/harness.js'

interface UserView {
  id: string
  email: string
  role: string
  createdAt: string
  disabledAt: string | null
  lastSignInAt: string | null
  password?: string
}

const code = (res: { json: <T>() => T }) => res.json<{ error: { code: string } }>().error.code

describe('users API', () => {
  let t: TestSwitchboard
  const passwords = { admin: 'admin-pass-1', agent: 'agent-pass-1', viewer: 'viewer-pass-1' }
  let ip = 0

  before(async () => {
    t = await startTestSwitchboard({ WORKER_THREAD: 'false' })
    for (const role of ['admin', 'agent', 'viewer'] as const) {
      await createUser(
        { store: t.sb.store, now: Date.now },
        `${role}@example.com`,
        role,
        passwords[role],
      )
    }
  })
  after(async () => t.close())

  async function session(email: string, password: string) {
    const res = await t.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password },
      remoteAddress: `10.2.0.${++ip}`,
    })
    assert.equal(res.statusCode, 200, res.body)
    const cookie = String(res.headers['set-cookie']).split(';')[0]!
    return { cookie, 'x-csrf-token': res.json<{ csrfToken: string }>().csrfToken }
  }

  const list = (headers: Record<string, string> = t.auth()) =>
    t.inject({ method: 'GET', url: '/v1/users', headers })
  const create = (payload: unknown, headers: Record<string, string> = t.auth()) =>
    t.inject({ method: 'POST', url: '/v1/users', headers, payload: payload as object })
  const patch = (id: string, payload: unknown, headers: Record<string, string> = t.auth()) =>
    t.inject({ method: 'PATCH', url: `/v1/users/${id}`, headers, payload: payload as object })
  const idOf = async (email: string) => (await t.sb.store.users.byEmail(email))!.id

  test('only admins: agent and viewer sessions and non-admin keys are refused', async () => {
    const agent = await session('agent@example.com', passwords.agent)
    const viewer = await session('viewer@example.com', passwords.viewer)
    const target = await idOf('viewer@example.com')
    for (const headers of [agent, viewer, t.auth(t.keys.write), t.auth(t.keys.read)]) {
      const attempts = [
        await list(headers),
        await create({ email: 'x@example.com', role: 'agent' }, headers),
        await patch(target, { role: 'admin' }, headers),
        await t.inject({ method: 'DELETE', url: `/v1/users/${target}/sessions`, headers }),
      ]
      for (const res of attempts) {
        assert.equal(res.statusCode, 403, res.body)
        assert.equal(code(res), 'insufficient_scope')
      }
    }
    assert.equal(await t.sb.store.users.byEmail('x@example.com'), undefined)
    assert.equal((await t.sb.store.users.byId(target))!.role, 'viewer')
    // An admin session may, with its CSRF token.
    const admin = await session('admin@example.com', passwords.admin)
    assert.equal((await list(admin)).statusCode, 200)
    const noCsrf = await create({ email: 'y@example.com', role: 'agent' }, { cookie: admin.cookie })
    assert.equal(noCsrf.statusCode, 403)
    assert.equal(code(noCsrf), 'csrf_token_invalid')
  })

  test('create answers a generated password once; lists and changes never show it', async () => {
    const res = await create({ email: ' Ana@Example.com ', role: 'agent' })
    assert.equal(res.statusCode, 201, res.body)
    assert.equal(res.headers['cache-control'], 'no-store')
    const made = res.json<UserView>()
    assert.equal(made.email, 'ana@example.com')
    assert.equal(made.role, 'agent')
    assert.equal(made.disabledAt, null)
    assert.equal(made.lastSignInAt, null)
    assert.match(made.id, /^usr_/)
    assert.ok(made.password && made.password.length >= 16, 'a generated password')
    // It signs in with it, and the sign-in shows in the list.
    await session('ana@example.com', made.password)
    const listed = await list()
    assert.equal(listed.statusCode, 200)
    const users = listed.json<{ data: UserView[] }>().data
    const ana = users.find((u) => u.id === made.id)!
    assert.ok(ana.lastSignInAt, 'lastSignInAt after a sign-in')
    assert.deepEqual(Object.keys(ana).sort(), [
      'createdAt',
      'disabledAt',
      'email',
      'id',
      'lastSignInAt',
      'role',
    ])
    assert.ok(
      users.some((u) => u.email === 'admin' && u.role === 'admin'),
      'the first user',
    )
    const changed = await patch(made.id, { role: 'viewer' })
    assert.equal(changed.statusCode, 200, changed.body)
    assert.equal(changed.json<UserView>().role, 'viewer')
    for (const body of [listed.body, changed.body]) {
      assert.doesNotMatch(body, /password|scrypt\$/i)
      assert.ok(!body.includes(made.password))
    }
    // A given password is not echoed back.
    const given = await create({
      email: 'bo@example.com',
      role: 'viewer',
      password: 'a long passphrase',
    })
    assert.equal(given.statusCode, 201, given.body)
    assert.equal(given.json<UserView>().password, undefined)
    assert.doesNotMatch(given.body, /a long passphrase|scrypt\$/)
    await session('bo@example.com', 'a long passphrase')
  })

  test('a taken e-mail is 409 email_taken; bad input is 422', async () => {
    const dup = await create({ email: 'AGENT@example.com', role: 'viewer' })
    assert.equal(dup.statusCode, 409, dup.body)
    assert.equal(code(dup), 'email_taken')
    assert.equal((await t.sb.store.users.byEmail('agent@example.com'))!.role, 'agent')
    for (const payload of [
      { email: 'c@example.com', role: 'owner' },
      { email: '', role: 'agent' },
      { email: 'two words@example.com', role: 'agent' },
      { email: 'c@example.com', role: 'agent', password: 'short' },
      { email: 'c@example.com', role: 'agent', extra: 1 },
    ]) {
      const res = await create(payload)
      assert.equal(res.statusCode, 422, JSON.stringify(payload))
    }
    const id = await idOf('agent@example.com')
    assert.equal((await patch(id, {})).statusCode, 422)
    assert.equal((await patch(id, { role: 'root' })).statusCode, 422)
    const missing = await patch('usr_nope', { role: 'agent' })
    assert.equal(missing.statusCode, 404)
    assert.equal(code(missing), 'not_found')
  })

  test('disabling ends the user sessions at once and stops sign-in; enabling allows it again', async () => {
    const made = (await create({ email: 'dee@example.com', role: 'agent' })).json<UserView>()
    const s1 = await session('dee@example.com', made.password!)
    const s2 = await session('dee@example.com', made.password!)
    const messages = (h: Record<string, string>) =>
      t.inject({ method: 'GET', url: '/v1/messages', headers: h })
    assert.equal((await messages(s1)).statusCode, 200)
    const off = await patch(made.id, { disabled: true })
    assert.equal(off.statusCode, 200, off.body)
    assert.ok(off.json<UserView>().disabledAt)
    for (const s of [s1, s2]) assert.equal((await messages(s)).statusCode, 401)
    const refused = await t.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'dee@example.com', password: made.password },
      remoteAddress: '10.3.0.1',
    })
    assert.equal(refused.statusCode, 401)
    const on = await patch(made.id, { disabled: false })
    assert.equal(on.statusCode, 200)
    assert.equal(on.json<UserView>().disabledAt, null)
    // The old sessions stay revoked; a new sign-in works.
    assert.equal((await messages(s1)).statusCode, 401)
    const s3 = await session('dee@example.com', made.password!)
    assert.equal((await messages(s3)).statusCode, 200)
    const revoked = await t.inject({
      method: 'DELETE',
      url: `/v1/users/${made.id}/sessions`,
      headers: t.auth(),
    })
    assert.deepEqual(revoked.json(), { revoked: 1 })
    assert.equal((await messages(s3)).statusCode, 401)
  })

  test('the last active admin cannot be demoted or disabled', async () => {
    const first = await idOf('admin')
    const second = await idOf('admin@example.com')
    // Two admins: one may go.
    const demoted = await patch(first, { role: 'viewer' })
    assert.equal(demoted.statusCode, 200, demoted.body)
    for (const change of [
      { role: 'agent' },
      { disabled: true },
      { role: 'admin', disabled: true },
    ]) {
      const res = await patch(second, change)
      assert.equal(res.statusCode, 409, res.body)
      assert.equal(code(res), 'last_admin')
    }
    // Also through its own session.
    const own = await session('admin@example.com', passwords.admin)
    const self = await patch(second, { role: 'viewer' }, own)
    assert.equal(self.statusCode, 409)
    assert.equal(code(self), 'last_admin')
    // A disabled admin does not count: enable-as-admin the first again, then the second may go.
    assert.equal((await patch(first, { role: 'admin', disabled: true })).statusCode, 200)
    assert.equal(code(await patch(second, { disabled: true })), 'last_admin')
    assert.equal((await patch(first, { disabled: false })).statusCode, 200)
    // Two concurrent demotions of the two admins: one at most succeeds.
    const both = await Promise.all([
      patch(first, { role: 'agent' }),
      patch(second, { role: 'agent' }),
    ])
    assert.deepEqual(both.map((r) => r.statusCode).sort(), [200, 409])
    const admins = (await list())
      .json<{ data: UserView[] }>()
      .data.filter((u) => u.role === 'admin' && u.disabledAt === null)
    assert.equal(admins.length, 1)
    // Restore the first-start admin for later tests.
    const left = admins[0]!.id === first ? second : first
    assert.equal((await patch(left, { role: 'admin' })).statusCode, 200)
  })

  test('every change is in the audit log, with who made it', async () => {
    const key = await createApiKey({ store: t.sb.store, now: Date.now }, 'ops', ['admin'])
    const made = (
      await create({ email: 'eve@example.com', role: 'viewer' }, t.auth(key.key))
    ).json<UserView>()
    await patch(made.id, { role: 'agent' }, t.auth(key.key))
    await patch(made.id, { disabled: true }, t.auth(key.key))
    await patch(made.id, { disabled: false }, t.auth(key.key))
    await t.inject({
      method: 'DELETE',
      url: `/v1/users/${made.id}/sessions`,
      headers: t.auth(key.key),
    })
    const res = await t.inject({ method: 'GET', url: '/v1/audit?limit=100', headers: t.auth() })
    assert.equal(res.statusCode, 200, res.body)
    const entries = res
      .json<{ data: { action: string; actor: string; target: string; details: unknown }[] }>()
      .data.filter((e) => e.target === made.id)
    assert.deepEqual(
      entries.map((e) => [e.action, e.actor]),
      [
        ['user.sessions_revoked', key.row.id],
        ['user.enabled', key.row.id],
        ['user.disabled', key.row.id],
        ['user.role_changed', key.row.id],
        ['user.created', key.row.id],
      ],
    )
    assert.deepEqual(entries[3]!.details, { from: 'viewer', to: 'agent' })
    assert.doesNotMatch(res.body, /eve@example\.com|scrypt\$/)
    // A session acts as its user.
    const admin = await session('admin@example.com', passwords.admin)
    const byUser = (
      await create({ email: 'fay@example.com', role: 'viewer' }, admin)
    ).json<UserView>()
    const audit = await t.inject({
      method: 'GET',
      url: '/v1/audit?action=user.created',
      headers: t.auth(),
    })
    const entry = audit
      .json<{ data: { actor: string; target: string }[] }>()
      .data.find((e) => e.target === byUser.id)
    assert.equal(entry?.actor, await idOf('admin@example.com'))
  })
})

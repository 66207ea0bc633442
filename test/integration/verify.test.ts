import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestSwitchboard, type TestSwitchboard } from '../support/harness.js'
import { codeIn, handsetText, scriptedDigits } from '../support/verify.js'

/**
 * The Verify API end to end on the in-process simulator (issue 10 points 4, 5, 7): codes read
 * from the simulated phone, an injected clock for the expiry edges and the lock, an injected
 * random source for the codes.
 */
describe('Verify API', () => {
  let t: TestSwitchboard
  let clock = Date.UTC(2026, 0, 5, 12, 0, 0)
  const digits = scriptedDigits()
  let n = 0
  /** A fresh US number per test. */
  /** While waiting for an SMS: the clock moves as real time would. */
  const tick = () => void (clock += 200)
  const phone = () => `+1415555${String(1000 + ++n).padStart(4, '0')}`

  before(async () => {
    t = await startTestSwitchboard(
      { WORKER_THREAD: 'false' },
      { now: () => clock, start: { verifyRandom: digits.random } },
    )
  })
  after(async () => t?.close())

  const start = (body: Record<string, unknown>) =>
    t.inject({
      method: 'POST',
      url: '/v1/verifications',
      headers: t.auth(t.keys.write),
      payload: body,
    })
  const check = (body: Record<string, unknown>) =>
    t.inject({
      method: 'POST',
      url: '/v1/verifications/check',
      headers: t.auth(t.keys.write),
      payload: body,
    })

  test('a code read from the simulated phone approves the verification once', async () => {
    const to = phone()
    digits.next('731945')
    const res = await start({ to })
    assert.equal(res.statusCode, 201, res.body)
    const v = res.json<{
      id: string
      to: string
      status: string
      expiresAt: string
      sends: number
    }>()
    assert.deepEqual(Object.keys(v).sort(), ['expiresAt', 'id', 'sends', 'status', 'to'])
    assert.equal(v.status, 'pending')
    assert.equal(v.to, to)
    assert.equal(v.sends, 1)
    assert.equal(v.expiresAt, new Date(clock + 600_000).toISOString())
    const text = await handsetText(t, to, v.id, tick)
    assert.equal(text, 'Your Switchboard verification code is 731945. It expires in 10 minutes.')
    const code = codeIn(text)

    // The message log keeps the text redacted.
    const got = (
      await t.inject({
        method: 'GET',
        url: `/v1/verifications/${v.id}`,
        headers: t.auth(t.keys.read),
      })
    ).json<Record<string, unknown>>()
    assert.ok(!JSON.stringify(got).includes(code))
    const msg = (
      await t.inject({
        method: 'GET',
        url: `/v1/messages/${String(got.messageId)}`,
        headers: t.auth(t.keys.read),
      })
    ).json<{ body: string; type: string; validityPeriod: number }>()
    assert.equal(
      msg.body,
      'Your Switchboard verification code is ******. It expires in 10 minutes.',
    )
    assert.equal(msg.type, 'transactional')
    assert.equal(msg.validityPeriod, 600)

    const wrong = await check({ id: v.id, code: '000000' })
    assert.equal(wrong.statusCode, 200)
    assert.deepEqual(wrong.json(), { id: v.id, status: 'pending' })
    const ok = await check({ to, code })
    assert.equal(ok.statusCode, 200, ok.body)
    assert.deepEqual(ok.json(), { id: v.id, status: 'approved' })
    const again = await check({ id: v.id, code })
    assert.equal(again.statusCode, 404)
    assert.equal(again.json<{ error: { code: string } }>().error.code, 'verification_not_found')
    const byTo = await check({ to, code })
    assert.equal(byTo.statusCode, 404)

    const read = (
      await t.inject({
        method: 'GET',
        url: `/v1/verifications/${v.id}`,
        headers: t.auth(t.keys.read),
      })
    ).json<{ status: string; attempts: number; sends: number }>()
    assert.equal(read.status, 'approved')
    assert.equal(read.attempts, 1)
    assert.equal(read.sends, 1)
  })

  test('the code is good one second before the TTL and dead at it', async () => {
    const a = phone()
    const b = phone()
    digits.next('482913')
    const va = (await start({ to: a, ttl: 60 })).json<{ id: string }>()
    digits.next('593024')
    const vb = (await start({ to: b, ttl: 60 })).json<{ id: string }>()
    const t0 = clock
    clock = t0 + 59_000
    const before = await check({ id: va.id, code: '482913' })
    assert.deepEqual(before.json(), { id: va.id, status: 'approved' })
    clock = t0 + 60_000
    const at = await check({ id: vb.id, code: '593024' })
    assert.equal(at.statusCode, 410, at.body)
    assert.equal(at.json<{ error: { code: string } }>().error.code, 'verification_expired')
    clock = t0 + 61_000
    assert.equal((await check({ to: b, code: '593024' })).statusCode, 410)
  })

  test('five wrong codes lock the number; a new verification cannot reset the count', async () => {
    const to = phone()
    digits.next('111111')
    const v = (await start({ to })).json<{ id: string }>()
    for (let i = 1; i <= 4; i++) {
      const r = await check({ to, code: '222222' })
      assert.deepEqual(r.json(), { id: v.id, status: 'pending' }, `attempt ${i}`)
    }
    const fifth = await check({ to, code: '222222' })
    assert.equal(fifth.statusCode, 429)
    assert.equal(fifth.json<{ error: { code: string } }>().error.code, 'too_many_attempts')
    assert.equal(fifth.headers['retry-after'], '600')
    // The right code no longer helps, and asking again is refused until the lock ends.
    assert.equal((await check({ to, code: '111111' })).statusCode, 429)
    clock += 60_000
    const again = await start({ to })
    assert.equal(again.statusCode, 429)
    assert.equal(again.json<{ error: { code: string } }>().error.code, 'too_many_attempts')
    assert.equal(again.headers['retry-after'], '540')
    clock += 540_000
    digits.next('333333')
    const fresh = await start({ to })
    assert.equal(fresh.statusCode, 201, fresh.body)
    assert.notEqual(fresh.json<{ id: string }>().id, v.id)
    assert.deepEqual(
      (await check({ to, code: '333333' })).json<{ status: string }>().status,
      'approved',
    )
  })

  test('a second request re-sends the same verification and code, at most 5 times', async () => {
    const to = phone()
    digits.next('640218')
    const first = (await start({ to })).json<{ id: string; sends: number }>()
    const text1 = await handsetText(t, to, first.id, tick)
    clock += 30_000
    const second = await start({ to })
    assert.equal(second.statusCode, 201)
    const s = second.json<{ id: string; sends: number; expiresAt: string }>()
    assert.equal(s.id, first.id)
    assert.equal(s.sends, 2)
    const text2 = await handsetText(t, to, first.id, tick)
    assert.equal(codeIn(text2), codeIn(text1))
    assert.equal(codeIn(text2), '640218')
    for (let i = 3; i <= 5; i++)
      assert.equal((await start({ to })).json<{ sends: number }>().sends, i)
    const sixth = await start({ to })
    assert.equal(sixth.statusCode, 429)
    assert.equal(sixth.json<{ error: { code: string } }>().error.code, 'too_many_sends')
    assert.ok(Number(sixth.headers['retry-after']) > 0)
    assert.equal(
      (await check({ id: first.id, code: '640218' })).json<{ status: string }>().status,
      'approved',
    )
  })

  test('an opt-out of all refuses the verification; a marketing opt-out does not', async () => {
    const all = phone()
    const marketing = phone()
    for (const [p, scope] of [
      [all, 'all'],
      [marketing, 'marketing'],
    ] as const) {
      const r = await t.inject({
        method: 'POST',
        url: '/v1/consents',
        headers: t.auth(),
        payload: { phone: p, action: 'opt_out', scope, source: 'api' },
      })
      assert.equal(r.statusCode, 201)
    }
    const refused = await start({ to: all })
    assert.equal(refused.statusCode, 422)
    assert.equal(refused.json<{ error: { code: string } }>().error.code, 'recipient_opted_out')
    // Nothing pending is left behind: a check finds nothing to approve.
    assert.equal((await check({ to: all, code: '123456' })).statusCode, 404)
    digits.next('909090')
    const sent = await start({ to: marketing })
    assert.equal(sent.statusCode, 201, sent.body)
    const text = await handsetText(t, marketing, sent.json<{ id: string }>().id, tick)
    assert.equal(codeIn(text), '909090')
  })

  test('locales, and a check with both or neither of id and to', async () => {
    const to = phone()
    digits.next('55667788')
    const r = await start({ to, locale: 'pt-BR', codeLength: 8, ttl: 120 })
    assert.equal(r.statusCode, 201)
    const text = await handsetText(t, to, r.json<{ id: string }>().id, tick)
    assert.equal(text, 'Seu código de verificação Switchboard é 55667788. Ele expira em 2 minutos.')
    assert.equal((await check({ code: '1' })).statusCode, 422)
    assert.equal((await check({ id: 'x', to, code: '1' })).statusCode, 422)
  })

  test('stats count sends, approvals and refusals per country', async () => {
    const res = await t.inject({
      method: 'GET',
      url: `/v1/verifications/stats?from=${new Date(Date.UTC(2026, 0, 1)).toISOString()}&to=${new Date(clock + 1).toISOString()}`,
      headers: t.auth(t.keys.read),
    })
    assert.equal(res.statusCode, 200, res.body)
    const s = res.json<{
      sends: number
      approvals: number
      verifications: number
      conversionRate: number
      medianTimeToApproveSeconds: number
      blocked: Record<string, number>
      countries: { country: string; sends: number }[]
    }>()
    assert.ok(s.sends >= 12, `sends ${s.sends}`)
    assert.ok(s.approvals >= 4)
    assert.ok(s.conversionRate > 0 && s.conversionRate < 1)
    assert.equal(typeof s.medianTimeToApproveSeconds, 'number')
    assert.equal(s.blocked.too_many_attempts, 1)
    assert.equal(s.blocked.too_many_sends, 1)
    assert.equal(s.blocked.recipient_opted_out, 1)
    assert.equal(s.countries[0]?.country, 'US')
  })
})

describe('Verify API with the background thread and named templates', () => {
  let t: TestSwitchboard
  before(async () => {
    t = await startTestSwitchboard(
      {},
      {
        start: {
          // A stand-in for the templates module: one template, English and French.
          verifyTemplates: {
            render: (name, locale, v) =>
              name !== 'login'
                ? null
                : locale?.startsWith('fr')
                  ? `Connexion : ${v.code} (${v.minutes} min)`
                  : `Login code: ${v.code} (${v.minutes} min)`,
          },
        },
      },
    )
  })
  after(async () => t?.close())

  test('the handset in the background thread shows the template’s text; the code approves', async () => {
    const to = '+14155553001'
    const res = await t.inject({
      method: 'POST',
      url: '/v1/verifications',
      headers: t.auth(t.keys.write),
      payload: { to, template: 'login', locale: 'fr-FR', ttl: 300 },
    })
    assert.equal(res.statusCode, 201, res.body)
    const id = res.json<{ id: string }>().id
    const text = await handsetText(t, to, id)
    assert.match(text, /^Connexion : \d{6} \(5 min\)$/)
    const ok = await t.inject({
      method: 'POST',
      url: '/v1/verifications/check',
      headers: t.auth(t.keys.write),
      payload: { id, code: codeIn(text) },
    })
    assert.deepEqual(ok.json(), { id, status: 'approved' })
    const unknown = await t.inject({
      method: 'POST',
      url: '/v1/verifications',
      headers: t.auth(t.keys.write),
      payload: { to: '+14155553002', template: 'nope' },
    })
    assert.equal(unknown.statusCode, 422)
  })
})

describe('Verify API with the message templates', () => {
  let t: TestSwitchboard
  before(async () => {
    t = await startTestSwitchboard({})
  })
  after(async () => t?.close())

  const template = (payload: Record<string, unknown>) =>
    t.inject({ method: 'POST', url: '/v1/templates', headers: t.auth(), payload })

  test('a verification naming a template is rendered by the templates module, with its locale fallback', async () => {
    // English declares only the code; French the minutes too.
    let res = await template({
      name: 'acme-login',
      locale: 'en',
      body: 'Acme login code: {{ code }}',
      variables: { code: { type: 'string' } },
    })
    assert.equal(res.statusCode, 201, res.body)
    res = await template({
      name: 'acme-login',
      locale: 'fr',
      body: 'Code Acme : {{ code }} (valable {{ minutes }} min)',
      variables: { code: { type: 'string' }, minutes: { type: 'number' } },
    })
    assert.equal(res.statusCode, 201, res.body)

    const run = async (to: string, locale: string, expected: RegExp) => {
      const started = await t.inject({
        method: 'POST',
        url: '/v1/verifications',
        headers: t.auth(t.keys.write),
        payload: { to, template: 'acme-login', locale, ttl: 300 },
      })
      assert.equal(started.statusCode, 201, started.body)
      const id = started.json<{ id: string }>().id
      const text = await handsetText(t, to, id)
      assert.match(text, expected)
      const ok = await t.inject({
        method: 'POST',
        url: '/v1/verifications/check',
        headers: t.auth(t.keys.write),
        payload: { id, code: codeIn(text) },
      })
      assert.deepEqual(ok.json(), { id, status: 'approved' })
    }
    await run('+14155553101', 'fr-CA', /^Code Acme : \d{6} \(valable 5 min\)$/)
    await run('+14155553102', 'de', /^Acme login code: \d{6}$/)

    const unknown = await t.inject({
      method: 'POST',
      url: '/v1/verifications',
      headers: t.auth(t.keys.write),
      payload: { to: '+14155553103', template: 'no-such-template' },
    })
    assert.equal(unknown.json<{ error: { code: string } }>().error.code, 'template_not_found')
  })
})

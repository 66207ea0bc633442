// Risk: a newcomer with no credentials cannot try the two-way flow in the browser: a message sent
// never shows on the simulated phone, a reply or STOP from the phone does not reach Switchboard,
// a verification code cannot be read, the page breaks accessibility or narrow screens, or it
// calls simulator routes for a role or a server that has none.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { waitFor } from '../support/harness.js'
import { assertCleanPage, PHONE, startDashboard, type DashboardRig } from './harness.js'

const EMPTY = 'Send a message to any number from Messages; it arrives here.'

/** Requests the page makes to the simulator routes, from now on. */
function simulatorCalls(page: Page): string[] {
  const calls: string[] = []
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/v1/simulator')) calls.push(r.url())
  })
  return calls
}

describe('simulator phones', () => {
  let rig: DashboardRig
  before(async () => {
    rig = await startDashboard()
  })
  after(async () => rig.close())

  const send = async (to: string, body: string) => {
    const res = await rig.t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: rig.t.auth(),
      payload: { to, body },
    })
    assert.equal(res.statusCode, 202, res.body)
  }
  const thread = (page: Page, phone: string) =>
    page.getByRole('log', { name: `Messages of ${phone}` })

  test('send, read it on the phone, reply, STOP, and read a verification code', async () => {
    const page = await rig.signedIn('admin')
    await page.goto('/simulator')
    // No phone yet: the empty state says what to do.
    await page.getByText(EMPTY).first().waitFor()
    await assertCleanPage(page, 'simulator, no phones')

    const phone = '+14155550142'
    await send(phone, 'Your table for two is ready.')
    // Listed live (polling), without a reload.
    const link = page.getByRole('link', { name: new RegExp(`\\${phone}`) })
    await link.waitFor()
    assert.match(await link.innerText(), /1 received, 0 sent/)
    await link.click()
    await page.waitForURL((u) => decodeURIComponent(u.pathname) === `/simulator/${phone}`)
    await thread(page, phone).getByText('Your table for two is ready.').waitFor()
    await assertCleanPage(page, 'simulator, a phone with a message')

    // Reply as the phone: in the thread, and stored as an inbound message.
    await page.getByLabel('Reply as phone').fill('hello')
    await page.getByRole('button', { name: 'Send as phone' }).click()
    await thread(page, phone).getByText('hello', { exact: true }).waitFor()
    assert.equal(await page.getByLabel('Reply as phone').inputValue(), '', 'the box empties')
    const inbound = await rig.t.inject({
      method: 'GET',
      url: `/v1/messages?direction=inbound&from=${encodeURIComponent(phone)}`,
      headers: rig.t.auth(),
    })
    const got = inbound.json<{ data: { body: string; to: string; status: string }[] }>().data
    assert.deepEqual(
      got.map((m) => [m.body, m.to, m.status]),
      [['hello', '+15005550006', 'received']],
      'to the simulator number the phone heard from',
    )

    // STOP, one click: the opt-out confirmation arrives on the phone.
    await page.getByRole('button', { name: 'STOP', exact: true }).click()
    await thread(page, phone).getByText('STOP', { exact: true }).waitFor()
    await thread(page, phone)
      .getByText(/unsubscribed/i)
      .waitFor()
    await assertCleanPage(page, 'simulator, after STOP')
    const refused = await rig.t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: rig.t.auth(),
      payload: { to: phone, body: 'One more thing' },
    })
    assert.equal(refused.json<{ error: { code: string } }>().error.code, 'recipient_opted_out')

    // A verification: the code is read on the phone's screen and approves it.
    const other = '+14155550143'
    const started = await rig.t.inject({
      method: 'POST',
      url: '/v1/verifications',
      headers: rig.t.auth(),
      payload: { to: other },
    })
    assert.equal(started.statusCode, 201, started.body)
    await page.getByLabel('Open a phone').fill('+1 415 555 0143')
    await page.getByRole('button', { name: 'Open', exact: true }).click()
    const sms = thread(page, other).getByText(/verification code is \d+/)
    await sms.waitFor()
    const code = /verification code is (\d+)/.exec(await sms.innerText())?.[1]
    assert.ok(code && code.length === 6, 'the phone shows the code')
    const checked = await rig.t.inject({
      method: 'POST',
      url: '/v1/verifications/check',
      headers: rig.t.auth(),
      payload: { to: other, code },
    })
    assert.equal(checked.json<{ status: string }>().status, 'approved')
    await assertCleanPage(page, 'simulator, a verification code')
  })

  test('at phone width: the list, the thread and the reply box; a bad number refused in words', async () => {
    const phone = '+14155550144'
    await send(phone, 'Your order has shipped and will arrive on Thursday.')
    await waitFor(async () => {
      const res = await rig.t.inject({
        method: 'GET',
        url: `/v1/simulator/phones/${encodeURIComponent(phone)}/messages`,
        headers: rig.t.auth(),
      })
      return res.json<{ data: unknown[] }>().data.length > 0 ? true : undefined
    })
    const page = await rig.signedIn('admin', PHONE)
    await page.goto('/simulator')
    await page.getByRole('heading', { name: 'Phones', exact: true }).waitFor()
    // A number not in E.164 form is refused in words, without a request.
    const calls = simulatorCalls(page)
    await page.getByLabel('Open a phone').fill('0415 555')
    await page.getByRole('button', { name: 'Open', exact: true }).click()
    assert.match(await page.getByRole('alert').innerText(), /E\.164/)
    assert.equal(new URL(page.url()).pathname, '/simulator')
    assert.deepEqual(
      calls.filter((u) => !u.endsWith('/v1/simulator/phones')),
      [],
    )
    await assertCleanPage(page, 'simulator, a bad number, at phone width')

    await page.getByRole('link', { name: new RegExp(`\\${phone}`) }).click()
    await thread(page, phone)
      .getByText(/has shipped/)
      .waitFor()
    await page.getByLabel('Reply as phone').fill('Thanks! Can I change the address?')
    await page.keyboard.press('Enter')
    await thread(page, phone).getByText('Thanks! Can I change the address?').waitFor()
    await page.getByRole('button', { name: 'HELP', exact: true }).waitFor()
    await assertCleanPage(page, 'simulator at phone width')
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    )
    assert.ok(overflow <= 0, `no sideways scrolling at phone width (${overflow}px)`)
  })

  test('an agent is told the page is for administrators; nothing is asked of the simulator', async () => {
    const page = await rig.signedIn('agent')
    const calls = simulatorCalls(page)
    assert.equal(
      await page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Simulator' })
        .count(),
      0,
    )
    await page.goto('/simulator/+14155550142')
    await page.getByText('The simulator phones are for administrators.').waitFor()
    await page.waitForLoadState('networkidle')
    assert.deepEqual(calls, [])
    await assertCleanPage(page, 'simulator as agent')
  })
})

describe('simulator phones without an in-process simulator', () => {
  let rig: DashboardRig
  before(async () => {
    rig = await startDashboard({ SIMULATOR_URL: 'http://127.0.0.1:9' })
  })
  after(async () => rig.close())

  for (const [name, viewport] of [
    ['1280x800', undefined],
    ['phone width', PHONE],
  ] as const) {
    test(`the page says so and how to enable it, at ${name}`, async () => {
      const page = await rig.signedIn('admin', viewport)
      const calls = simulatorCalls(page)
      await page.goto('/simulator')
      await page.getByRole('heading', { name: 'No simulator is configured' }).waitFor()
      assert.match(await page.locator('main').innerText(), /PROVIDERS/)
      await page.waitForLoadState('networkidle')
      assert.deepEqual(calls, [], 'no simulator route is called')
      await assertCleanPage(page, `simulator not configured at ${name}`)
    })
  }
})

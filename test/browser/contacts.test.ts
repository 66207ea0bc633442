// Risk: an opt-out or opt-in recorded in the dashboard is lost, recorded without its source or
// evidence, or not shown in the number's history; the opted-out list misses a STOP; a viewer is
// offered a form the API refuses; the page breaks at phone width.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { assertCleanPage, PHONE, startDashboard, type DashboardRig } from './harness.js'

const CUSTOMER = '+14155550177'

describe('contacts and consent', () => {
  let rig: DashboardRig
  before(async () => {
    rig = await startDashboard()
  })
  after(async () => rig.close())

  async function openContacts(page: Page): Promise<void> {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Contacts', exact: true })
      .click()
    await page.waitForURL((u) => u.pathname === '/contacts')
  }
  const history = (page: Page) => page.locator('table.consent-history tbody tr')

  test('an admin sees a STOP in the opted-out list, then records an opt-in and an opt-out with their source', async () => {
    const page = await rig.signedIn('admin')
    await openContacts(page)
    await page.getByText('No number has opted out.').waitFor()
    await assertCleanPage(page, 'contacts, nobody opted out')

    // A phone texts STOP: the list shows it without a reload.
    const res = await rig.t.inject({
      method: 'POST',
      url: '/v1/simulator/inbound',
      headers: rig.t.auth(),
      payload: { from: CUSTOMER, body: 'STOP' },
    })
    assert.equal(res.statusCode, 201, res.body)
    const row = page.getByRole('row', { name: new RegExp(CUSTOMER.replace('+', '\\+')) })
    await row.waitFor()
    assert.match(await row.innerText(), /sender \+15005550006/)
    await assertCleanPage(page, 'contacts with an opted-out number')

    await row.getByRole('link', { name: CUSTOMER }).click()
    await page.getByRole('heading', { level: 2, name: CUSTOMER }).waitFor()
    assert.equal(await history(page).count(), 1)
    assert.match(
      await history(page).first().innerText(),
      /Opt-out of sender \+15005550006.*keyword \(by replying STOP\)/s,
    )
    assert.match(await history(page).first().innerText(), /keyword: STOP/)
    // Its conversation is one click away.
    await page.getByRole('link', { name: 'Conversation with +15005550006' }).waitFor()
    await assertCleanPage(page, 'a contact after STOP')

    // An opt-in of marketing from a web form, with its disclosure and evidence.
    await page.getByLabel('Action').selectOption('opt_in')
    await page.getByLabel('Scope').selectOption('marketing')
    await page.getByLabel('Source').selectOption('web_form')
    await page.getByLabel(/^Disclosure/).fill('marketing-sms-v3')
    await page.getByLabel('Form URL').fill('https://example.com/join')
    await page.getByLabel('IP address').fill('203.0.113.7')
    await page.getByRole('button', { name: 'Record opt-in' }).click()
    await page
      .getByRole('status')
      .filter({ hasText: 'Recorded: opt-in of marketing messages.' })
      .waitFor()
    await page.waitForFunction(
      () => document.querySelectorAll('table.consent-history tbody tr').length === 2,
    )
    const optIn = await history(page).first().innerText()
    assert.match(optIn, /Opt-in of marketing messages/)
    assert.match(optIn, /web_form/)
    assert.match(optIn, /marketing-sms-v3/)
    assert.match(optIn, /formUrl: https:\/\/example\.com\/join/)
    assert.match(optIn, /ip: 203\.0\.113\.7/)
    await assertCleanPage(page, 'a contact after an opt-in')

    // An opt-out of everything, told by phone: source api, with a note.
    await page.getByLabel('Action').selectOption('opt_out')
    await page.getByLabel('Scope').selectOption('all')
    await page.getByLabel('Source').selectOption('api')
    await page.getByLabel('Note').fill('Asked by phone call')
    await page.getByRole('button', { name: 'Record opt-out' }).click()
    await page
      .getByRole('status')
      .filter({ hasText: 'Recorded: opt-out of every sender.' })
      .waitFor()
    await page.waitForFunction(
      () => document.querySelectorAll('table.consent-history tbody tr').length === 3,
    )
    const optOut = await history(page).first().innerText()
    assert.match(optOut, /Opt-out of every sender/)
    assert.match(optOut, /api \(as recorded through the API\)/)
    assert.match(optOut, /note: Asked by phone call/)
    const now = page.getByRole('row', { name: /every sender/ }).first()
    assert.match(await now.innerText(), /Opted out/)
    await assertCleanPage(page, 'a contact after an opt-out')

    // The ledger holds exactly what the page shows.
    const ledger = (
      await rig.t.inject({
        method: 'GET',
        url: `/v1/consents/${encodeURIComponent(CUSTOMER)}`,
        headers: rig.t.auth(),
      })
    ).json<{
      history: {
        action: string
        scope: string
        source: string
        disclosure: string | null
        evidence: Record<string, string> | null
      }[]
    }>()
    assert.deepEqual(
      ledger.history.slice(1).map((h) => [h.action, h.scope, h.source, h.disclosure, h.evidence]),
      [
        [
          'opt_in',
          'marketing',
          'web_form',
          'marketing-sms-v3',
          { formUrl: 'https://example.com/join', ip: '203.0.113.7' },
        ],
        ['opt_out', 'all', 'api', null, { note: 'Asked by phone call' }],
      ],
    )
  })

  test('looking a number up with no entry says what to do; readable at phone width', async () => {
    const page = await rig.signedIn('admin', PHONE)
    await openContacts(page)
    await page.getByLabel('Phone number').fill('+14155550188')
    await page.getByRole('button', { name: 'Look up' }).click()
    await page.waitForURL((u) => u.pathname === '/contacts/%2B14155550188')
    await page.getByText('No consent recorded for this number.').waitFor()
    await page.getByText('No conversation: this number has not texted any of yours.').waitFor()
    await assertCleanPage(page, 'an unknown number at phone width')
    await page.goto(`/contacts/${encodeURIComponent(CUSTOMER)}`)
    await page.locator('table.consent-history tbody tr').first().waitFor()
    await assertCleanPage(page, 'a contact at phone width')
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    )
    assert.ok(overflow <= 0, `no sideways scrolling at phone width (${overflow}px)`)
  })

  test('a viewer reads consent and is offered no form', async () => {
    const page = await rig.signedIn('viewer')
    await page.goto(`/contacts/${encodeURIComponent(CUSTOMER)}`)
    await page.locator('table.consent-history tbody tr').first().waitFor()
    assert.equal(await page.getByRole('button', { name: /^Record/ }).count(), 0)
    await page.getByText('Recording an opt-in or opt-out takes an admin').waitFor()
    await assertCleanPage(page, 'a contact as a viewer')
  })
})

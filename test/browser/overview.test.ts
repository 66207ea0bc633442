// Risk: the overview shows figures that are not the messages' (or none), its period picker does
// nothing, its charts have no text alternative or overflow a phone, a non-admin's page fetches
// the admin-only provider health (a 403 in the console), or the empty state says nothing useful.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { waitFor } from '../support/harness.js'
import { assertCleanPage, PHONE, startDashboard, type DashboardRig } from './harness.js'

describe('overview page', () => {
  let rig: DashboardRig
  before(async () => {
    rig = await startDashboard()
  })
  after(async () => rig.close())

  /** The figure a tile shows, by its label. */
  const tile = (page: Page, label: string) =>
    page.locator(`.overview-tiles dt:text-is("${label}") + dd`).innerText()

  const ready = async (page: Page) => {
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
    await page.waitForLoadState('networkidle')
  }

  test('no messages yet: the empty state says what to do, clean at desktop and phone', async () => {
    const page = await rig.signedIn('admin')
    await ready(page)
    await page.getByText('No messages in the last 7 days').waitFor()
    await page.getByText('Send your first message from').waitFor()
    assert.equal((await page.getByRole('link', { name: 'Messages' }).count()) > 0, true)
    await page.getByRole('heading', { name: 'Provider health' }).waitFor()
    await assertCleanPage(page, 'empty overview')
    const phone = await rig.signedIn('viewer', PHONE)
    await ready(phone)
    await phone.getByText('No messages in the last 7 days').waitFor()
    await assertCleanPage(phone, 'empty overview at phone width')
  })

  test('messages sent through the API show up; periods switch; a viewer sees no provider health', async () => {
    const { t } = rig
    const ids: string[] = []
    for (const body of ['one', 'two', 'three']) {
      const res = await t.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: t.auth(),
        payload: { to: '+16502530000', body: `Overview test ${body}` },
      })
      assert.equal(res.statusCode, 202, res.body)
      ids.push(res.json<{ id: string }>().id)
    }
    await waitFor(
      async () => {
        for (const id of ids) {
          const m = await t.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: t.auth() })
          if (m.json<{ status: string }>().status !== 'delivered') return undefined
        }
        return true
      },
      15_000,
      'the messages delivered',
    )

    const page = await rig.signedIn('admin')
    await ready(page)
    await page.locator('.overview-tiles').waitFor()
    assert.equal(await tile(page, 'Sent'), '3')
    assert.equal(await tile(page, 'Delivered'), '3')
    assert.equal(await tile(page, 'Failed'), '0')
    assert.match(await tile(page, 'Delivery rate'), /^100\.0\s%$/)
    assert.equal(await tile(page, 'Segments'), '3')
    assert.notEqual(await tile(page, 'Latency p50'), '—')
    await page.getByText('No failed message in this period.').waitFor()
    // Each chart is named and has its figures as a table.
    for (const name of [
      'Volume: sent, delivered, failed',
      'Delivery rate',
      'Segments and cost',
      'Opt-outs and inbound messages',
    ]) {
      await page.getByRole('figure', { name }).waitFor()
    }
    await page.getByText('Figures of “Volume: sent, delivered, failed” as a table').click()
    const table = page.getByRole('table', { name: 'Volume: sent, delivered, failed' })
    const sentCells = await table.locator('tbody tr td:nth-child(2)').allInnerTexts()
    assert.equal(
      sentCells.reduce((n, c) => n + (Number(c.replace(/\D/g, '')) || 0), 0),
      3,
      'the table adds up to the messages sent',
    )
    // Provider health, live for an admin.
    const health = page.getByRole('table', { name: /Circuit state, success rate/ })
    await health
      .getByRole('rowheader', { name: /simulator/ })
      .first()
      .waitFor()
    assert.match(await health.innerText(), /closed/)
    await assertCleanPage(page, 'overview with messages')

    // The period picker: 24 hours by hour, 30 days by day.
    await page.getByRole('button', { name: 'Last 24 hours' }).click()
    await page.getByText(/, by hour; as of/).waitFor()
    assert.equal(
      await page.getByRole('button', { name: 'Last 24 hours' }).getAttribute('aria-pressed'),
      'true',
    )
    await page.getByRole('button', { name: 'Last 30 days' }).click()
    await page.getByText(/, by day; as of/).waitFor()
    assert.equal(await tile(page, 'Sent'), '3')
    await assertCleanPage(page, 'overview, last 30 days')

    // A viewer at phone width: the same figures, no provider health, nothing off-screen.
    const phone = await rig.signedIn('viewer', PHONE)
    const asked: string[] = []
    phone.on('request', (r) => asked.push(new URL(r.url()).pathname))
    await phone.reload()
    await ready(phone)
    await phone.locator('.overview-tiles').waitFor()
    assert.equal(await tile(phone, 'Sent'), '3')
    assert.equal(await phone.getByRole('heading', { name: 'Provider health' }).count(), 0)
    assert.ok(!asked.includes('/v1/providers'), 'a viewer never asks for /v1/providers')
    const overflow = await phone.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    )
    assert.ok(overflow <= 0, `no sideways scrolling at phone width (${overflow}px)`)
    const canvas = await phone.locator('.chart-canvas canvas').first().boundingBox()
    assert.ok(canvas && canvas.width <= PHONE.width, `the chart fits (${canvas?.width}px)`)
    await assertCleanPage(phone, 'overview at phone width')

    // An admin at phone width: the provider health table scrolls sideways, by keyboard too.
    const admin = await rig.signedIn('admin', PHONE)
    await ready(admin)
    await admin.getByRole('region', { name: 'Provider health table' }).waitFor()
    await assertCleanPage(admin, 'overview with provider health at phone width')
  })
})

// Risk: the Messages pages do not send what the form says, do not follow a message to its
// final status, lose the filters or the next page of the log, count segments differently from
// the API, hide an error's code, or let a viewer change anything.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import {
  assertCleanPage,
  clearProblems,
  PHONE,
  startDashboard,
  type DashboardRig,
} from './harness.js'

describe('Messages pages', () => {
  let rig: DashboardRig
  before(async () => {
    rig = await startDashboard()
  })
  after(async () => rig.close())

  const inject = async (method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const res = await rig.t.inject({
      method,
      url,
      headers: rig.t.auth(),
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    })
    assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`)
    return res.json<{ id: string; status: string }>()
  }
  const open = async (page: Page, path: string) => {
    await page.goto(path)
    await page.getByRole('heading', { level: 1, name: 'Message' }).first().waitFor()
    await page.waitForLoadState('networkidle')
  }
  const rowCount = (page: Page) => page.getByTestId('message-row').count()

  test('an agent sends from the compose box and watches it reach delivered', async () => {
    const page = await rig.signedIn('agent')
    await open(page, '/messages')
    await page.getByText('No messages yet.').waitFor()
    await assertCleanPage(page, 'the empty log')

    const counter = page.getByTestId('segment-counter')
    await page.getByLabel('Message', { exact: true }).fill('Hello from the dashboard')
    assert.match(await counter.innerText(), /GSM-7 · 1 segment\b/)
    // 40 emoji: 80 UTF-16 code units, over one UCS-2 segment's 70.
    await page.getByLabel('Message', { exact: true }).fill('😀'.repeat(40))
    assert.match(await counter.innerText(), /UCS-2 · 2 segments/)
    await page.getByLabel('Message', { exact: true }).fill('Hello from the dashboard')

    await page.getByLabel('To', { exact: true }).fill('+14155550100')
    await page.getByRole('button', { name: 'Send', exact: true }).click()
    const sent = page.getByRole('status').filter({ hasText: 'Sent:' })
    await sent.waitFor()
    await assertCleanPage(page, 'compose after sending')
    const id = await sent.getByRole('link').innerText()
    assert.match(id, /^msg_/)
    // The log shows it without a reload.
    await page.getByRole('link', { name: id }).nth(1).waitFor()

    await sent.getByRole('link', { name: id }).click()
    await page.waitForURL((u) => u.pathname === `/messages/${id}`)
    const status = page.getByTestId('message-status')
    await status.filter({ hasText: 'delivered' }).waitFor({ timeout: 15_000 })
    const timeline = await page.getByTestId('timeline').innerText()
    assert.match(timeline, /queued[\s\S]*delivered/)
    await page.getByRole('cell', { name: 'accepted' }).waitFor()
    assert.match(await page.locator('.msg-body').innerText(), /Hello from the dashboard/)
    await page.waitForLoadState('networkidle')
    await assertCleanPage(page, 'a delivered message')
  })

  test('a bad number is refused with its error code', async () => {
    const page = await rig.signedIn('agent')
    await open(page, '/messages')
    await page.getByLabel('To', { exact: true }).fill('12')
    await page.getByLabel('Message', { exact: true }).fill('Where does this go?')
    await page.getByRole('button', { name: 'Send', exact: true }).click()
    const alert = page.getByRole('alert')
    await alert.waitFor()
    assert.match(await alert.innerText(), /invalid_phone_number/)
    // The refused POST is logged by the browser, as it should be; the page itself stays clean.
    clearProblems(page)
    await assertCleanPage(page, 'compose with an error')
  })

  test('a template is picked, its variables filled, previewed and sent', async () => {
    await inject('POST', '/v1/templates', {
      name: 'order_shipped',
      body: 'Hi {{ first_name }}, your order shipped.',
      variables: { first_name: { type: 'string' } },
    })
    const page = await rig.signedIn('agent')
    await open(page, '/messages')
    await page.getByLabel('Template', { exact: true }).selectOption('order_shipped')
    await page.getByLabel('first_name', { exact: true }).fill('Ana')
    await page
      .getByTestId('template-preview')
      .filter({ hasText: 'Hi Ana, your order shipped.' })
      .waitFor()
    await page.getByLabel('To', { exact: true }).fill('+14155550101')
    await page.getByRole('button', { name: 'Send', exact: true }).click()
    const id = await page
      .getByRole('status')
      .filter({ hasText: 'Sent:' })
      .getByRole('link')
      .innerText()
    const m = await inject('GET', `/v1/messages/${id}`)
    assert.deepEqual(
      {
        body: (m as unknown as { body: string }).body,
        template: (m as unknown as { template: { name: string } }).template.name,
      },
      { body: 'Hi Ana, your order shipped.', template: 'order_shipped' },
    )
    await assertCleanPage(page, 'compose with a template')
  })

  test('the log filters by status in the URL and scrolls to a second page', async () => {
    // More than one page (50) of messages, and one canceled.
    await inject('POST', '/v1/messages/batch', {
      messages: Array.from({ length: 60 }, (_, i) => ({
        to: `+1415555${String(2000 + i)}`,
        body: `Batch ${i}`,
      })),
    })
    const later = await inject('POST', '/v1/messages', {
      to: '+14155550199',
      body: 'Scheduled, then canceled',
      sendAt: new Date(Date.now() + 3_600_000).toISOString(),
    })
    await inject('POST', `/v1/messages/${later.id}/cancel`)

    const page = await rig.signedIn('agent')
    await open(page, '/messages')
    await page.getByTestId('message-row').first().waitFor()
    assert.equal(await rowCount(page), 50)
    // Scrolling to the end loads the next page.
    await page.getByRole('button', { name: 'Load more' }).scrollIntoViewIfNeeded()
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="message-row"]').length > 50,
    )
    await page.getByText('That is every message.').waitFor()
    assert.ok((await rowCount(page)) > 60)
    await assertCleanPage(page, 'the log, two pages')

    await page.getByLabel('Status', { exact: true }).selectOption('canceled')
    await page.waitForURL((u) => u.searchParams.get('status') === 'canceled')
    await page.getByText('Scheduled, then canceled').waitFor()
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="message-row"]').length === 1,
    )
    // The view is bookmarkable: a reload keeps the filter.
    await page.reload()
    await page.getByText('Scheduled, then canceled').waitFor()
    assert.equal(await rowCount(page), 1)
    assert.equal(await page.getByLabel('Status', { exact: true }).inputValue(), 'canceled')
    await assertCleanPage(page, 'the log filtered by status')

    await page.getByLabel('Number', { exact: true }).fill('+14155559999')
    await page.getByRole('button', { name: 'Filter', exact: true }).click()
    await page.getByText('No message matches these filters.').waitFor()
    assert.equal(new URL(page.url()).searchParams.get('number'), '+14155559999')
    await assertCleanPage(page, 'the log with nothing matching')
    await page.getByRole('button', { name: 'Clear filters' }).first().click()
    await page.waitForURL((u) => u.search === '')
    await page.getByTestId('message-row').first().waitFor()
  })

  test('at phone width the log, compose and detail are clean and do not scroll sideways', async () => {
    const page = await rig.signedIn('agent', PHONE)
    await open(page, '/messages')
    await page.getByTestId('message-row').first().waitFor()
    await page.getByLabel('Message', { exact: true }).fill('A phone-width draft ✓')
    await assertCleanPage(page, 'the log at phone width')
    const sideways = () =>
      page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      )
    assert.ok((await sideways()) <= 0, 'no sideways scrolling on the log')
    const first = page.getByTestId('message-row').first().getByRole('link')
    await first.click()
    await page.getByTestId('message-status').waitFor()
    await page.getByRole('heading', { name: 'Webhook deliveries' }).waitFor()
    await page.waitForLoadState('networkidle')
    await assertCleanPage(page, 'a message at phone width')
    assert.ok((await sideways()) <= 0, 'no sideways scrolling on the detail')
  })

  test('a viewer reads the log but cannot send: the form is disabled and the API refuses', async () => {
    const page = await rig.signedIn('viewer')
    const asked: string[] = []
    page.on('request', (r) => asked.push(new URL(r.url()).pathname))
    await open(page, '/messages')
    await page.getByTestId('message-row').first().waitFor()
    await page.getByText('Viewers can read only').waitFor()
    assert.equal(await page.getByLabel('To', { exact: true }).isDisabled(), true)
    assert.equal(await page.getByLabel('Message', { exact: true }).isDisabled(), true)
    assert.equal(await page.getByRole('button', { name: 'Send', exact: true }).isDisabled(), true)
    assert.ok(!asked.some((p) => p.startsWith('/v1/templates')), asked.join(' '))
    await assertCleanPage(page, "the viewer's log")

    const refused = await page.evaluate(async () => {
      const s = (await (await fetch('/auth/session', { credentials: 'same-origin' })).json()) as {
        csrfToken: string
      }
      const res = await fetch('/v1/messages', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken },
        body: JSON.stringify({ to: '+14155550100', body: 'A viewer tries' }),
      })
      return { status: res.status, body: (await res.json()) as { error: { code: string } } }
    })
    assert.equal(refused.status, 403)
    assert.equal(refused.body.error.code, 'insufficient_scope')
    clearProblems(page)

    // The viewer still opens a message, and sees its text.
    await page.getByTestId('message-row').first().getByRole('link').click()
    await page.getByTestId('message-status').waitFor()
    await page.waitForLoadState('networkidle')
    await assertCleanPage(page, 'a message seen by a viewer')
  })
})

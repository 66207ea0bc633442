// Risk: the template editor's preview does not follow the typing, hides the character that
// makes a text UCS-2 (and so doubles its cost), saving a version does not show it in the
// history, archiving happens without a confirmation, or a viewer is offered an editor the API
// refuses.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { assertCleanPage, PHONE, startDashboard, type DashboardRig } from './harness.js'

const summary = (page: Page) => page.getByTestId('preview-summary')
const previewText = (page: Page) => page.getByTestId('preview-text')

async function waitForText(page: Page, testId: string, expected: string | RegExp) {
  await page.waitForFunction(
    ([id, want, isRe]) => {
      const text = document.querySelector(`[data-testid="${id}"]`)?.textContent ?? ''
      return isRe ? new RegExp(want).test(text) : text === want
    },
    [
      testId,
      typeof expected === 'string' ? expected : expected.source,
      typeof expected !== 'string',
    ] as const,
  )
}

describe('templates page', () => {
  let rig: DashboardRig
  before(async () => {
    rig = await startDashboard({
      PRICES: JSON.stringify([
        { provider: 'simulator', country: 'US', price: 0.0079, currency: 'USD' },
        { provider: 'simulator', country: 'BR', price: 0.05, currency: 'USD' },
      ]),
    })
  })
  after(async () => rig.close())

  test('create a template with a live preview, then a new version, then archive it', async () => {
    const page = await rig.signedIn('admin')
    await page.goto('/templates')
    await page.getByText('There are no templates in use.').waitFor()
    await assertCleanPage(page, 'templates, empty')

    // The preview follows the typing.
    const body = page.getByRole('textbox', { name: 'Body', exact: true })
    await body.pressSequentially('Hello')
    await waitForText(page, 'preview-text', 'Hello')
    await body.pressSequentially(' there')
    await waitForText(page, 'preview-text', 'Hello there')
    await waitForText(page, 'preview-summary', /^GSM-7 · 1 segment ·/)

    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('order_shipped')
    await body.fill('Hi {{ first_name }}, your order ships today.')
    // The variable the body uses gets a type and a labelled sample input.
    assert.equal(await page.getByLabel('Type of first_name').inputValue(), 'string')
    await waitForText(page, 'preview-text', 'Hi {{ first_name }}, your order ships today.')
    assert.match(await page.getByText(/No value for first_name/).innerText(), /refused/)
    await page.getByLabel('Sample first_name').fill('Ana')
    await waitForText(page, 'preview-text', 'Hi Ana, your order ships today.')
    assert.match(await summary(page).innerText(), /^GSM-7 · 1 segment ·/)
    // Cost per country: one segment at each price.
    const cost = page.getByRole('table').filter({ hasText: 'Cost per country' })
    assert.match(await cost.innerText(), /BR\s+simulator\s+\$0\.05/)
    assert.match(await cost.innerText(), /US\s+simulator\s+\$0\.0079/)
    assert.equal(await page.getByTestId('preview-ucs2').count(), 0)
    await assertCleanPage(page, 'the editor with a GSM-7 preview')

    // An emoji makes it UCS-2, and is shown as the character forcing it.
    await body.fill('Hi {{ first_name }}, your order ships today \u{1F389}')
    await waitForText(page, 'preview-summary', /^UCS-2 · 1 segment ·/)
    assert.match(await page.getByTestId('preview-ucs2').innerText(), /\u{1F389} U\+1F389/u)
    assert.equal(await previewText(page).locator('mark').innerText(), '\u{1F389}')
    assert.equal(
      await page.getByTestId('preview-text').innerText(),
      'Hi Ana, your order ships today \u{1F389}',
    )
    await assertCleanPage(page, 'the editor with a UCS-2 preview')

    await page.getByRole('button', { name: 'Create template' }).click()
    await page.waitForURL((u) => u.pathname === '/templates/order_shipped')
    await page.getByRole('heading', { name: 'Template order_shipped', level: 1 }).waitFor()
    await page.getByText('Saved version 1 of en.').waitFor()
    const history = page.getByRole('region', { name: 'en (default)' })
    assert.match(await history.innerText(), /v1\s+Hi \{\{ first_name \}\}, your order ships today/)
    await assertCleanPage(page, 'a template after creating it')

    // A new version starts from the newest one, and lands on top of the history.
    assert.equal(await body.inputValue(), 'Hi {{ first_name }}, your order ships today \u{1F389}')
    await body.fill('Hi {{ first_name }}, your order shipped.')
    await waitForText(page, 'preview-summary', /^GSM-7/)
    await page.getByRole('button', { name: 'Save version' }).click()
    await page.getByText('Saved version 2 of en.').waitFor()
    await page.getByRole('cell', { name: 'v2', exact: true }).waitFor()
    const rows = await history.getByRole('row').allInnerTexts()
    assert.match(rows[1] ?? '', /^v2\s+Hi \{\{ first_name \}\}, your order shipped\./)
    assert.match(rows[2] ?? '', /^v1/)
    await assertCleanPage(page, 'a template with two versions')

    await page.getByRole('link', { name: 'All templates' }).click()
    const row = page.getByRole('row', { name: /order_shipped/ })
    await row.waitFor()
    assert.match(await row.innerText(), /en v2/)
    await assertCleanPage(page, 'the list with one template')

    // Archiving asks first.
    await page.getByRole('link', { name: 'order_shipped' }).click()
    await page.getByRole('button', { name: 'Archive template' }).click()
    const confirm = page.getByRole('group', { name: 'Confirm archiving' })
    assert.match(await confirm.innerText(), /template_archived/)
    await assertCleanPage(page, 'the archive confirmation')
    await page.getByRole('button', { name: 'Yes, archive order_shipped' }).click()
    await page.getByText(/order_shipped is archived/).waitFor()
    await page.getByText('Saving a new version restores it.').waitFor()
    const api = await rig.t.inject({
      method: 'GET',
      url: '/v1/templates/order_shipped',
      headers: rig.t.auth(rig.t.keys.read),
    })
    assert.equal(api.json<{ archived: boolean }>().archived, true)
    await page.getByRole('link', { name: 'All templates' }).click()
    await page.getByText('There are no templates in use.').waitFor()
    await page.getByLabel('Show archived templates').check()
    assert.match(await page.getByRole('row', { name: /order_shipped/ }).innerText(), /archived/)
    await assertCleanPage(page, 'the list with an archived template')
  })

  test('a viewer reads and tries templates, without an editor, and is told why', async () => {
    const create = await rig.t.inject({
      method: 'POST',
      url: '/v1/templates',
      headers: rig.t.auth(),
      payload: {
        name: 'welcome',
        body: 'Welcome {{ name }}!',
        variables: { name: { type: 'string' } },
      },
    })
    assert.equal(create.statusCode, 201, create.body)
    for (const viewport of [undefined, PHONE]) {
      const page = await rig.signedIn('viewer', viewport)
      await page.goto('/templates')
      await page.getByRole('link', { name: 'welcome' }).waitFor()
      assert.match(await page.getByText(/Only admins change templates/).innerText(), /admin scope/)
      assert.equal(await page.getByRole('textbox', { name: 'Body', exact: true }).count(), 0)
      await assertCleanPage(page, `templates as a viewer (${viewport ? 'phone' : 'desktop'})`)
      await page.getByRole('link', { name: 'welcome' }).click()
      await page.getByRole('heading', { name: 'Template welcome', level: 1 }).waitFor()
      assert.equal(await page.getByRole('button', { name: /Save version|Archive/ }).count(), 0)
      await page.getByLabel('Sample name').fill('Ana')
      await waitForText(page, 'preview-text', 'Welcome Ana!')
      await assertCleanPage(page, `a template as a viewer (${viewport ? 'phone' : 'desktop'})`)
      if (viewport) {
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        )
        assert.ok(overflow <= 0, `no sideways scrolling at phone width (${overflow}px)`)
      }
    }
  })

  test('the editor at phone width', async () => {
    const page = await rig.signedIn('admin', PHONE)
    await page.goto('/templates/welcome')
    await page.getByLabel('Sample name').fill('Zoë')
    await waitForText(page, 'preview-text', 'Welcome Zoë!')
    await assertCleanPage(page, 'the editor at phone width')
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    )
    assert.ok(overflow <= 0, `no sideways scrolling at phone width (${overflow}px)`)
  })
})

// Risk: the Verify page shows a code, does not show a verification or its approval, its chart
// does not render, or a role is sent to a route it may not use (the blocks are admin-only).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { codeIn, handsetText } from '../support/verify.js'
import { assertCleanPage, PHONE, startDashboard, type DashboardRig } from './harness.js'

const TO = '+14155550187'

/** Nothing the page shows or holds carries the code. */
async function assertNoCode(page: Page, code: string, what: string) {
  const text = await page.evaluate(() => document.body.innerText)
  assert.ok(!text.includes(code), `the code is not in the page text (${what})`)
  assert.ok(!(await page.content()).includes(code), `the code is not in the page (${what})`)
}

describe('verify page', () => {
  let rig: DashboardRig
  let id = ''
  let code = ''
  before(async () => {
    rig = await startDashboard()
    const res = await rig.t.inject({
      method: 'POST',
      url: '/v1/verifications',
      headers: rig.t.auth(rig.t.keys.write),
      payload: { to: TO },
    })
    assert.equal(res.statusCode, 201, res.body)
    id = res.json<{ id: string }>().id
    // The one place the code shows: the simulated phone that received it.
    code = codeIn(await handsetText(rig.t, TO, id))
    assert.match(code, /^\d{6}$/)
  })
  after(async () => rig.close())

  test('the log shows a verification, never its code, and its approval; the chart renders', async () => {
    const page = await rig.signedIn('admin')
    await page.goto('/verify')
    const row = page.locator(`tr[data-id="${id}"]`)
    await row.waitFor()
    assert.match(await row.innerText(), new RegExp(`\\${TO}\\s+pending\\s+1\\s+0`))
    await page.getByTestId('conversion-chart').locator('canvas').first().waitFor()
    await page.getByRole('heading', { name: 'Blocked numbers and ranges' }).waitFor()
    await page.getByText('Nothing is blocked now.').waitFor()
    await page.waitForLoadState('networkidle')
    await assertNoCode(page, code, 'pending')
    await assertCleanPage(page, 'verify with a pending verification')

    const check = await rig.t.inject({
      method: 'POST',
      url: '/v1/verifications/check',
      headers: rig.t.auth(rig.t.keys.write),
      payload: { to: TO, code },
    })
    assert.deepEqual(check.json(), { id, status: 'approved' })
    await page.getByRole('button', { name: 'Refresh' }).click()
    await page.waitForFunction(
      (vid) => /approved/.test(document.querySelector(`tr[data-id="${vid}"]`)?.textContent ?? ''),
      id,
    )
    // The chart's text alternative counts it: started 1, approved 1 today.
    await page.getByRole('combobox', { name: 'Period' }).selectOption('7')
    await page.waitForFunction(() => {
      const table = [...document.querySelectorAll('caption')]
        .find((c) => c.textContent === 'Conversion per day')
        ?.closest('table')
      const cells = [...(table?.querySelectorAll('tbody tr:last-child td') ?? [])]
      return cells
        .map((c) => c.textContent)
        .join('|')
        .endsWith('|1|1|100 %')
    })
    await page.getByTestId('conversion-chart').locator('canvas').first().waitFor()
    await assertNoCode(page, code, 'approved')
    await assertCleanPage(page, 'verify after the approval')

    // Filters: by status.
    await page.getByRole('combobox', { name: 'Status' }).selectOption('pending')
    await page.getByRole('button', { name: 'Filter' }).click()
    await page.getByText('No verification matches these filters.').waitFor()
    await assertCleanPage(page, 'verify filtered to nothing')
    await page.getByRole('button', { name: 'Clear' }).click()
    await row.waitFor()
  })

  test('a viewer and the phone width: the log without the blocks, clean', async () => {
    for (const [role, viewport] of [
      ['viewer', undefined],
      ['admin', PHONE],
    ] as const) {
      const page = await rig.signedIn(role, viewport)
      await page.goto('/verify')
      await page.locator(`tr[data-id="${id}"]`).waitFor()
      await page.getByTestId('conversion-chart').locator('canvas').first().waitFor()
      assert.equal(
        await page.getByRole('heading', { name: 'Blocked numbers and ranges' }).count(),
        role === 'admin' ? 1 : 0,
      )
      await page.waitForLoadState('networkidle')
      await assertNoCode(page, code, role)
      await assertCleanPage(page, `verify as ${role}${viewport ? ' at phone width' : ''}`)
      if (viewport) {
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        )
        assert.ok(overflow <= 0, `no sideways scrolling at phone width (${overflow}px)`)
      }
    }
  })
})

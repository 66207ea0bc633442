// Risk: an operator cannot see which gateways send, whether their circuits are open or how
// healthy they are, or which routes are in force; the figures do not refresh; the page breaks
// accessibility or narrow screens, or asks admin routes for a role that may not use them.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { waitFor } from '../support/harness.js'
import { assertCleanPage, PHONE, startDashboard, type DashboardRig } from './harness.js'

describe('providers and routes', () => {
  let rig: DashboardRig
  before(async () => {
    rig = await startDashboard()
  })
  after(async () => rig.close())

  const sendOne = async () => {
    const res = await rig.t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: rig.t.auth(),
      payload: { to: '+14155550150', body: 'Health check' },
    })
    assert.equal(res.statusCode, 202, res.body)
    const { id } = res.json<{ id: string }>()
    await waitFor(async () => {
      const m = await rig.t.inject({
        method: 'GET',
        url: `/v1/messages/${id}`,
        headers: rig.t.auth(),
      })
      return m.json<{ status: string }>().status === 'delivered' ? true : undefined
    })
  }

  for (const [name, viewport] of [
    ['1280x800', undefined],
    ['phone width', PHONE],
  ] as const) {
    test(`the simulator instance with a closed circuit, live figures, the default route, at ${name}`, async () => {
      await sendOne()
      const page = await rig.signedIn('admin', viewport)
      await page.goto('/providers')
      const card = page.getByRole('article', { name: /simulator/ })
      await card.getByText('circuit closed').waitFor()
      assert.match(await card.innerText(), /Closed: sending normally/)
      assert.match(await card.innerText(), /Success rate\s+100%/)
      const sendsOf = async () =>
        Number(/Sends \(5 min\)\s+(\d+)/.exec(await card.innerText())?.[1] ?? NaN)
      const before = await sendsOf()
      assert.ok(before >= 1, `sends shown (${before})`)
      // Refreshed every 3 s, without a reload.
      await sendOne()
      await waitFor(
        async () => ((await sendsOf()) > before ? true : undefined),
        10_000,
        'the sends to refresh',
      )

      const routes = page.getByRole('table').last()
      const row = routes.getByRole('row').nth(1)
      assert.match(await row.innerText(), /every message \(default route\)/)
      assert.match(await row.innerText(), /simulator/)
      assert.match(await page.locator('main').innerText(), /No ROUTES configured/)
      await assertCleanPage(page, `providers at ${name}`)
      if (viewport) {
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        )
        assert.ok(overflow <= 0, `no sideways scrolling at phone width (${overflow}px)`)
      }
    })
  }

  test('a viewer is told the page is for administrators; no admin route is asked', async () => {
    const page = await rig.signedIn('viewer')
    const calls: string[] = []
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname
      if (path === '/v1/providers' || path === '/v1/routes') calls.push(path)
    })
    await page.goto('/providers')
    await page.getByText('Providers and routes are for administrators.').waitFor()
    await page.waitForLoadState('networkidle')
    assert.deepEqual(calls, [])
    await assertCleanPage(page, 'providers as viewer')
  })
})

// Risk: an API key or a generated password is shown again after its one-time display, a
// revocation happens without a confirmation, a disabled user keeps working in an open
// session, the last admin can be removed from the page, or the page breaks accessibility.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import {
  assertCleanPage,
  clearProblems,
  PHONE,
  problems,
  startDashboard,
  type DashboardRig,
} from './harness.js'

describe('settings page', () => {
  let rig: DashboardRig
  before(async () => {
    rig = await startDashboard()
  })
  after(async () => rig.close())

  async function openSettings(page: Page): Promise<void> {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Settings', exact: true })
      .click()
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor()
    await page.getByRole('heading', { level: 2, name: 'API keys' }).waitFor()
    await page.getByRole('row', { name: /admin@example\.com/ }).waitFor()
    await page.waitForLoadState('networkidle')
  }

  for (const [name, viewport] of [
    ['1280x800', undefined],
    ['phone width', PHONE],
  ] as const) {
    test(`an API key is shown once, then revoked after a confirmation, at ${name}`, async () => {
      const page = await rig.signedIn('admin', viewport)
      await openSettings(page)
      await assertCleanPage(page, `settings at ${name}`)
      const keyName = `ci ${name}`
      await page.getByLabel('Key name').fill(keyName)
      await page.getByRole('checkbox', { name: 'admin' }).check()
      await page.getByRole('checkbox', { name: 'messages:write' }).uncheck()
      await page.getByRole('button', { name: 'Create key' }).click()
      const shown = page.getByRole('region', { name: `New API key “${keyName}”` })
      await shown.waitFor()
      const key = (await shown.getByTestId('shown-once').innerText()).trim()
      assert.match(key, /^sb_live_/)
      assert.match(await shown.innerText(), /will not be shown again/)
      await assertCleanPage(page, `new key at ${name}`)
      // The key works as created: admin and read, not write.
      const res = await fetch(`${rig.url}/v1/keys`, { headers: { authorization: `Bearer ${key}` } })
      assert.equal(res.status, 200)
      const row = page.getByRole('row', { name: new RegExp(keyName) })
      assert.match(await row.innerText(), /messages:read, admin/)
      // After a reload the key is gone from the page for good.
      await page.reload()
      await openSettings(page)
      assert.equal(await page.getByText(key).count(), 0)
      assert.equal(await page.getByTestId('shown-once').count(), 0)
      await assertCleanPage(page, `settings after reload at ${name}`)

      // Revoking asks first; Cancel keeps the key.
      await row.getByRole('button', { name: `Revoke key ${keyName}` }).click()
      const dialog = page.getByRole('dialog', { name: `Revoke the key “${keyName}”?` })
      await dialog.waitFor()
      await assertCleanPage(page, `revoke confirmation at ${name}`)
      await dialog.getByRole('button', { name: 'Cancel' }).click()
      await dialog.waitFor({ state: 'detached' })
      assert.equal(
        (await fetch(`${rig.url}/v1/keys`, { headers: { authorization: `Bearer ${key}` } })).status,
        200,
      )
      await row.getByRole('button', { name: `Revoke key ${keyName}` }).click()
      await dialog.getByRole('button', { name: 'Revoke key' }).click()
      await dialog.waitFor({ state: 'detached' })
      await row.getByText(/revoked/).waitFor()
      assert.equal(await row.getByRole('button', { name: /Revoke/ }).count(), 0)
      const after = await fetch(`${rig.url}/v1/keys`, {
        headers: { authorization: `Bearer ${key}` },
      })
      assert.equal(after.status, 401)
      await assertCleanPage(page, `revoked key at ${name}`)
      if (viewport) {
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        )
        assert.ok(overflow <= 0, `no sideways scrolling at phone width (${overflow}px)`)
      }
    })
  }

  test('the webhook secret is never shown until a rotation answers it, once', async () => {
    const secret = (
      await rig.t.inject({ method: 'GET', url: '/v1/webhooks/secret', headers: rig.t.auth() })
    ).json<{ secret: string }>().secret
    const page = await rig.signedIn('admin')
    await openSettings(page)
    const section = page.getByRole('region', { name: 'Webhooks' })
    await section.getByText('A signing secret is set').waitFor()
    assert.ok(!(await page.content()).includes(secret), 'the current secret is not on the page')
    await section.getByText('No webhook endpoints are configured.').waitFor()
    await section.getByRole('button', { name: 'Rotate secret' }).click()
    const dialog = page.getByRole('dialog', { name: 'Rotate the webhook signing secret?' })
    await dialog.getByRole('button', { name: 'Rotate secret' }).click()
    const shown = page.getByRole('region', { name: 'New webhook signing secret' })
    const fresh = (await shown.getByTestId('shown-once').innerText()).trim()
    assert.match(fresh, /^whsec_/)
    assert.notEqual(fresh, secret)
    await assertCleanPage(page, 'rotated secret')
    await shown.getByRole('button', { name: 'Done' }).click()
    assert.ok(!(await page.content()).includes(fresh))
  })

  test('a user created here is signed out at once when disabled from here', async () => {
    const admin = await rig.signedIn('admin')
    await openSettings(admin)
    const users = admin.getByRole('region', { name: 'Users' })
    await users.getByLabel('E-mail').fill('dana@example.com')
    await users.getByLabel('Role', { exact: true }).selectOption('agent')
    await users.getByRole('button', { name: 'Create user' }).click()
    const shown = admin.getByRole('region', { name: 'Password for dana@example.com' })
    const password = (await shown.getByTestId('shown-once').innerText()).trim()
    assert.ok(password.length >= 16)
    await assertCleanPage(admin, 'created user')
    await shown.getByRole('button', { name: 'Done' }).click()

    // Dana signs in in a second browser.
    const dana = await rig.anonymous()
    await dana.getByLabel('E-mail or user name').fill('dana@example.com')
    await dana.getByLabel('Password').fill(password)
    await dana.getByRole('button', { name: 'Sign in' }).click()
    const nav = dana.getByRole('navigation', { name: 'Main' })
    await nav.waitFor()
    assert.equal(
      await nav.getByRole('link', { name: 'Settings' }).count(),
      0,
      'agents see no Settings',
    )
    await dana.waitForLoadState('networkidle')
    assert.deepEqual(problems(dana), [])

    // The admin disables her, after a confirmation.
    const row = users.getByRole('row', { name: /dana@example\.com/ })
    await row.getByRole('button', { name: 'Disable dana@example.com' }).click()
    const dialog = admin.getByRole('dialog', { name: 'Disable dana@example.com?' })
    await assertCleanPage(admin, 'disable confirmation')
    await dialog.getByRole('button', { name: 'Disable user' }).click()
    await row.getByText('disabled').waitFor()
    await assertCleanPage(admin, 'disabled user')

    // Her session is over at once: the API refuses it, and her next page load is the sign-in
    // form. (Pages that query the API on a click end there too, through the same 401.)
    const status = await dana.evaluate(async () => (await fetch('/v1/messages')).status)
    assert.equal(status, 401)
    await dana.reload()
    await dana.getByRole('heading', { name: 'Sign in to Switchboard' }).waitFor()
    clearProblems(dana) // the refused request's 401 is logged by the browser, as it should be
    await assertCleanPage(dana, 'signed out by the admin')
    // Enabled again, she may sign in.
    await row.getByRole('button', { name: 'Enable dana@example.com' }).click()
    await row.getByText('active').waitFor()
  })

  test('the last admin cannot be demoted: the page says why, with the code', async () => {
    const page = await rig.signedIn('admin')
    await openSettings(page)
    const users = page.getByRole('region', { name: 'Users' })
    // Two admins (the first-start `admin` and admin@example.com): one may become a viewer.
    const first = users.getByRole('combobox', { name: 'Role of admin', exact: true })
    await first.selectOption('viewer')
    await users.getByText('admin is now viewer.').waitFor()
    const mine = users.getByRole('combobox', { name: 'Role of admin@example.com' })
    await mine.selectOption('agent')
    const alert = users.getByRole('alert')
    await alert.waitFor()
    assert.match(await alert.innerText(), /last_admin/)
    assert.equal(await mine.inputValue(), 'admin', 'the role shown is the role kept')
    clearProblems(page) // the refused change's 409 is logged by the browser
    await assertCleanPage(page, 'last admin refused')
    // Disabling oneself as the last admin is refused too, in the dialog.
    await users.getByRole('button', { name: 'Disable admin@example.com' }).click()
    const dialog = page.getByRole('dialog', { name: 'Disable admin@example.com?' })
    await dialog.getByRole('button', { name: 'Disable user' }).click()
    await dialog.getByRole('alert').getByText('last_admin').waitFor()
    clearProblems(page)
    await assertCleanPage(page, 'last admin disable refused')
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    const me = await rig.t.sb.store.users.byEmail('admin@example.com')
    assert.equal(me?.role, 'admin')
    assert.equal(me?.disabled_at, null)
  })

  test('a viewer opening /settings gets no admin request and is told why', async () => {
    const page = await rig.signedIn('viewer')
    await page.goto('/settings')
    await page.getByText('Settings are for admins.').waitFor()
    await page.waitForLoadState('networkidle')
    await assertCleanPage(page, 'settings as viewer')
  })
})

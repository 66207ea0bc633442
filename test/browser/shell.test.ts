// Risk: the dashboard does not load from `npm start`'s build, its scripts are too big or
// uncached, signing in or out does not work, a page breaks accessibility or logs errors, or a
// role sees pages it may not use.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { after, before, describe, test } from 'node:test'
import { DASHBOARD_DIR } from '../../src/http/dashboard.js'
import { NAV } from '../../web/src/nav.js'
import {
  assertCleanPage,
  clearProblems,
  PHONE,
  problems,
  signIn,
  startDashboard,
  type DashboardRig,
} from './harness.js'

describe('dashboard shell', () => {
  let rig: DashboardRig
  before(async () => {
    rig = await startDashboard()
  })
  after(async () => rig.close())

  test('the initial JavaScript is under 250 KB gzipped', () => {
    const html = readFileSync(join(DASHBOARD_DIR, 'index.html'), 'utf8')
    const scripts = [...html.matchAll(/<script[^>]+src="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!)
    const preloads = [...html.matchAll(/rel="modulepreload"[^>]+href="\/(assets\/[^"]+)"/g)].map(
      (m) => m[1]!,
    )
    assert.ok(scripts.length > 0, 'index.html loads a script')
    const total = [...scripts, ...preloads].reduce(
      (n, f) => n + gzipSync(readFileSync(join(DASHBOARD_DIR, f)), { level: 9 }).length,
      0,
    )
    assert.ok(total < 250 * 1024, `initial JavaScript ${total} bytes gzipped`)
  })

  test('hashed assets are cached for a year, pages revalidate, gzip when asked', async () => {
    const assets = readdirSync(join(DASHBOARD_DIR, 'assets'))
    const js = assets.find((f) => f.endsWith('.js'))!
    const res = await fetch(`${rig.url}/assets/${js}`, { headers: { 'accept-encoding': 'gzip' } })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    assert.equal(res.headers.get('content-encoding'), 'gzip')
    assert.match(res.headers.get('content-type') ?? '', /javascript/)
    const etag = res.headers.get('etag')!
    const again = await fetch(`${rig.url}/assets/${js}`, { headers: { 'if-none-match': etag } })
    assert.equal(again.status, 304)

    const page = await fetch(`${rig.url}/messages/msg_anything`, {
      headers: { accept: 'text/html' },
    })
    assert.equal(page.status, 200)
    assert.equal(page.headers.get('cache-control'), 'no-cache')
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/)
    assert.match(await page.text(), /<div id="root">/)
    // The API keeps its own JSON 404, even for a browser.
    const api = await fetch(`${rig.url}/v1/nothing`, { headers: { accept: 'text/html' } })
    assert.equal(api.status, 404)
    assert.equal(((await api.json()) as { error: { code: string } }).error.code, 'route_not_found')
  })

  test('the sign-in page is accessible and a wrong password is refused in words', async () => {
    const page = await rig.anonymous()
    await assertCleanPage(page, 'sign-in')
    await page.getByLabel('E-mail or user name').fill('admin@example.com')
    await page.getByLabel('Password').fill('wrong password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    const alert = page.getByRole('alert')
    await alert.waitFor()
    assert.match(await alert.innerText(), /invalid_credentials/)
    clearProblems(page) // the refused sign-in's 401 is logged by the browser, as it should be
    await signIn(page, 'admin')
    assert.deepEqual(problems(page), [])
  })

  for (const [name, viewport] of [
    ['1280x800', undefined],
    ['phone width', PHONE],
  ] as const) {
    test(`every page opens from the navigation, clean under axe, at ${name}`, async () => {
      const page = await rig.signedIn('admin', viewport)
      for (const item of NAV) {
        await page
          .getByRole('navigation', { name: 'Main' })
          .getByRole('link', { name: item.label, exact: true })
          .click()
        await page.waitForURL((u) => u.pathname === item.path)
        await page.getByRole('heading', { level: 1 }).first().waitFor()
        await page.waitForLoadState('networkidle')
        await assertCleanPage(page, `${item.label} at ${name}`)
      }
      if (viewport) {
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        )
        assert.ok(overflow <= 0, `no sideways scrolling at phone width (${overflow}px)`)
      }
    })
  }

  test('a viewer sees no admin pages; signing out returns to the sign-in form', async () => {
    const page = await rig.signedIn('viewer')
    const nav = page.getByRole('navigation', { name: 'Main' })
    assert.equal(await nav.getByRole('link', { name: 'Settings' }).count(), 0)
    assert.equal(await nav.getByRole('link', { name: 'Messages' }).count(), 1)
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('heading', { name: 'Sign in to Switchboard' }).waitFor()
    await page.reload()
    await page.getByRole('heading', { name: 'Sign in to Switchboard' }).waitFor()
    assert.deepEqual(problems(page), [])
  })
})

test('the axe check finds a violation when there is one', async () => {
  const { launchChromium, axe } = await import('./harness.js')
  const browser = await launchChromium()
  try {
    const page = await browser.newPage()
    await page.setContent(
      '<html><body><main><img src="data:,"><button></button></main></body></html>',
    )
    const found = await axe(page)
    assert.ok(
      found.some((v) => v.startsWith('image-alt')),
      found.join('\n'),
    )
    assert.ok(
      found.some((v) => v.startsWith('button-name')),
      found.join('\n'),
    )
  } finally {
    await browser.close()
  }
})

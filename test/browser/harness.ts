/**
 * Browser tests: Switchboard listening on 127.0.0.1 with the built dashboard (dist/web, built by
 * `node test/run.mjs browser` first), driven by Debian's Chromium through playwright-core.
 * Every page a test opens records its console errors, uncaught exceptions and failed requests,
 * so a test can assert that a page logged none; `axe` runs axe-core on the page as it stands.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { createUser } from '../../src/usecases/users.js'
import { startTestSwitchboard, type TestSwitchboard } from '../support/harness.js'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Debian's Chromium, headless, kept off the network beyond 127.0.0.1. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}

export const PASSWORDS = {
  admin: 'admin-pass-correct-horse',
  agent: 'agent-pass-correct-horse',
  viewer: 'viewer-pass-correct-horse',
} as const
export type TestRole = keyof typeof PASSWORDS
export const emailOf = (role: TestRole) => `${role}@example.com`

export interface DashboardRig {
  t: TestSwitchboard
  /** http://127.0.0.1:<port> */
  url: string
  browser: Browser
  /** A page signed in as the role, recording its problems (see `problems`). */
  signedIn: (role?: TestRole, viewport?: { width: number; height: number }) => Promise<Page>
  /** A fresh page at the sign-in form. */
  anonymous: (viewport?: { width: number; height: number }) => Promise<Page>
  close: () => Promise<void>
}

export const DESKTOP = { width: 1280, height: 800 }
export const PHONE = { width: 390, height: 844 }

const problemsOf = new WeakMap<Page, string[]>()

/** Console errors, uncaught exceptions and failed requests the page logged so far. */
export function problems(page: Page): string[] {
  return problemsOf.get(page) ?? []
}

/** Forgets the problems recorded so far (after a step that was meant to fail). */
export function clearProblems(page: Page): void {
  problemsOf.set(page, [])
}

function record(page: Page): Page {
  problemsOf.set(page, [])
  const add = (s: string) => problemsOf.get(page)?.push(s)
  page.on('console', (m) => {
    if (m.type() === 'error') add(`console: ${m.text()}`)
  })
  page.on('pageerror', (e) => add(`exception: ${e.message}`))
  page.on('requestfailed', (r) => {
    // A stream cut by leaving the page is not a failure.
    if (r.failure()?.errorText === 'net::ERR_ABORTED') return
    add(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`)
  })
  return page
}

/**
 * Starts Switchboard (SQLite, the simulator, the background thread off so tests can reach the
 * in-process simulator) listening on a free port, with one user per role.
 */
export async function startDashboard(env: Record<string, string> = {}): Promise<DashboardRig> {
  const t = await startTestSwitchboard(
    { PORT: '0', HOST: '127.0.0.1', WORKER_THREAD: 'false', ...env },
    { db: 'sqlite', start: { listen: true } },
  )
  const url = t.sb.url
  assert.ok(url, 'the server listens')
  for (const role of Object.keys(PASSWORDS) as TestRole[]) {
    await createUser({ store: t.sb.store, now: Date.now }, emailOf(role), role, PASSWORDS[role])
  }
  const browser = await launchChromium()
  const contexts: BrowserContext[] = []
  async function open(viewport = DESKTOP): Promise<Page> {
    const context = await browser.newContext({ viewport, baseURL: url })
    contexts.push(context)
    return record(await context.newPage())
  }
  return {
    t,
    url,
    browser,
    anonymous: async (viewport) => {
      const page = await open(viewport)
      await page.goto('/')
      await page.getByRole('heading', { name: 'Sign in to Switchboard' }).waitFor()
      return page
    },
    signedIn: async (role = 'admin', viewport) => {
      const page = await open(viewport)
      await page.goto('/')
      await signIn(page, role)
      return page
    },
    close: async () => {
      for (const c of contexts) await c.close().catch(() => undefined)
      await browser.close()
      await t.close()
    },
  }
}

/** Fills the sign-in form and waits for the navigation to appear. */
export async function signIn(page: Page, role: TestRole): Promise<void> {
  await page.getByLabel('E-mail or user name').fill(emailOf(role))
  await page.getByLabel('Password').fill(PASSWORDS[role])
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('navigation', { name: 'Main' }).waitFor()
}

const require = createRequire(import.meta.url)
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

export interface AxeViolation {
  id: string
  impact: string | null
  help: string
  nodes: { target: unknown[]; failureSummary?: string }[]
}

/**
 * axe-core on the page as it stands (WCAG 2.1 A and AA rules and best practices); returns the
 * serious and critical violations, described for an assertion message.
 */
export async function axe(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the page's CSP forbids inline scripts.
  await page.evaluate(AXE_SOURCE)
  const violations = await page.evaluate(async () => {
    const w = window as unknown as {
      axe: { run: (ctx: Document, opts: unknown) => Promise<{ violations: AxeViolation[] }> }
    }
    const r = await w.axe.run(document, { resultTypes: ['violations'] })
    return r.violations
  })
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} at ${v.nodes
          .slice(0, 3)
          .map((n) => JSON.stringify(n.target))
          .join(', ')}`,
    )
}

/** Asserts no serious or critical axe violation and no recorded problem on the page. */
export async function assertCleanPage(page: Page, what: string): Promise<void> {
  assert.deepEqual(await axe(page), [], `axe on ${what}`)
  assert.deepEqual(problems(page), [], `console and network on ${what}`)
}

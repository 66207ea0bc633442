/**
 * The README's screenshots (`npm run screenshots`): builds the dashboard, starts Switchboard on
 * SQLite with the simulator, seeds a realistic story through the public API (a few dozen
 * messages, a support conversation with replies, a STOP, a verification) and writes PNGs at
 * 1280x800 into docs/images/: overview.png, inbox.png, simulator.png.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { waitFor } from '../support/harness.js'
import { startDashboard, type DashboardRig } from './harness.js'

const OUT = join('docs', 'images')
const CUSTOMER = '+14155550123'
const story = { conversationId: '' }

const build = spawnSync(
  process.execPath,
  ['node_modules/vite/bin/vite.js', 'build', '--config', 'web/vite.config.ts'],
  { stdio: 'inherit' },
)
if (build.status !== 0) process.exit(1)

const rig = await startDashboard({
  SIMULATOR_SEED: '7',
  SIMULATOR_LATENCY_MS: '40-260',
  // A few numbers a gateway cannot reach, so the log shows failures as real traffic does.
  SIMULATOR_RULES: JSON.stringify([
    { match: '+1202555017', outcome: 'undelivered' },
    { match: '+1202555018', outcome: 'invalid_number' },
  ]),
})

try {
  await seed(rig)
  mkdirSync(OUT, { recursive: true })
  const page = await rig.signedIn('admin')
  await shoot(page, '/', 'overview.png', 'Last 24 hours')
  await shoot(page, `/conversations/${encodeURIComponent(story.conversationId)}`, 'inbox.png')
  await shoot(page, `/simulator/${encodeURIComponent(CUSTOMER)}`, 'simulator.png')
  console.log(`wrote ${OUT}/overview.png, inbox.png, simulator.png`)
} finally {
  await rig.close()
}

async function shoot(page: Page, path: string, file: string, button?: string): Promise<void> {
  await page.goto(path)
  await page.getByRole('heading', { level: 1 }).first().waitFor()
  if (button) await page.getByRole('button', { name: button }).click()
  // Pages that poll never go idle for long: give charts and lists a moment either way.
  await page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => undefined)
  await page.waitForTimeout(800)
  await page.screenshot({ path: join(OUT, file) })
}

async function seed(r: DashboardRig): Promise<void> {
  const { t } = r
  const call = async <T>(method: 'GET' | 'POST', url: string, payload?: unknown): Promise<T> => {
    const res = await t.inject({
      method,
      url,
      headers: t.auth(),
      ...(payload ? { payload: payload as Record<string, unknown> } : {}),
    })
    assert.ok(res.statusCode < 400 || url === '/v1/messages', `${method} ${url}: ${res.body}`)
    return res.json<T>()
  }
  const send = (to: string, body: string, type: 'transactional' | 'marketing' = 'transactional') =>
    call<{ id: string }>('POST', '/v1/messages', { to, body, type })
  const phone = (from: string, body: string) =>
    call('POST', '/v1/simulator/inbound', { from, body })
  const settle = () =>
    waitFor(
      async () => {
        const page = await call<{ data: { status: string }[] }>('GET', '/v1/messages?limit=200')
        return page.data.every((m) => !['queued', 'scheduled', 'sending'].includes(m.status))
          ? true
          : undefined
      },
      30_000,
      'every message to settle',
    )

  const names = ['Ana', 'Ben', 'Chloé', 'Dev', 'Erin', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jon']
  const bodies = [
    (n: string) => `Hi ${n}, your appointment is confirmed for Tuesday at 09:30.`,
    (n: string) => `${n}, your order #A-2291 has shipped and arrives Thursday.`,
    (n: string) => `Reminder for ${n}: your table for 4 is booked at 19:00 tonight.`,
    (n: string) => `${n}, your prescription is ready for pickup at Main St. pharmacy.`,
    () => `Your parcel is out for delivery today between 12:00 and 14:00.`,
  ]
  for (let i = 0; i < 34; i++) {
    const name = names[i % names.length] ?? 'there'
    const to = `+1415555${String(2000 + (i % 17)).padStart(4, '0')}`
    await send(to, (bodies[i % bodies.length] ?? bodies[0]!)(name))
  }
  await send('+12025550171', 'Your delivery window has changed to 15:00-17:00.')
  await send('+12025550182', 'Your verification link expires in 10 minutes.')
  await send(
    '+14155550190',
    'Spring sale: 20% off everything this weekend. Reply STOP to opt out.',
    'marketing',
  )
  await send(
    CUSTOMER,
    'Hi Maya, this is Harbor Dental: your cleaning is tomorrow at 10:00. Reply C to confirm.',
  )
  await settle()

  // A support conversation: the customer writes back, an agent answers, they thank them.
  await phone(CUSTOMER, 'Hi! Could I move it to 11:00 instead?')
  const convs = await call<{ data: { id: string; contact: { phone: string } }[] }>(
    'GET',
    '/v1/conversations',
  )
  const conv = convs.data.find((c) => c.contact.phone === CUSTOMER)
  assert.ok(conv, 'the reply opened a conversation')
  story.conversationId = conv.id
  await call('POST', `/v1/conversations/${conv.id}/messages`, {
    body: 'Of course, Maya. You are now booked for 11:00 tomorrow. See you then!',
  })
  await settle()
  await phone(CUSTOMER, 'Perfect, thank you!')

  // A marketing recipient opts out.
  await phone('+14155550190', 'STOP')
  // A sign-in code to the customer's phone.
  await call('POST', '/v1/verifications', { to: CUSTOMER })
  await settle()
}

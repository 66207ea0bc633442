// Risk: the inbox misses an SMS until a reload, a reply does not go or its delivery is not
// shown, the agent's actions do nothing, a reply box stays open to a number that texted STOP
// (or does not say why it is closed), a free-text opt-out is not flagged for review, the page
// breaks at phone width, or a viewer is offered actions the API refuses.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { assertCleanPage, PHONE, startDashboard, type DashboardRig } from './harness.js'

const CUSTOMER = '+14155550199'
const OUR_NUMBER = '+15005550006'

describe('conversations inbox', () => {
  let rig: DashboardRig
  before(async () => {
    rig = await startDashboard()
  })
  after(async () => rig.close())

  /** The phone texts Switchboard through the simulator, as a gateway's webhook would. */
  async function text(from: string, body: string): Promise<{ id: string }> {
    const res = await rig.t.inject({
      method: 'POST',
      url: '/v1/simulator/inbound',
      headers: rig.t.auth(),
      payload: { from, to: OUR_NUMBER, body },
    })
    assert.equal(res.statusCode, 201, res.body)
    return res.json<{ id: string }>()
  }

  async function openInbox(page: Page): Promise<void> {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Conversations', exact: true })
      .click()
    await page.waitForURL((u) => u.pathname === '/conversations')
    // The stream is open before anything is texted: what comes next must arrive live.
    await page.getByText('Live: new messages appear as they come').waitFor()
  }

  const replyBox = (page: Page) => page.getByRole('textbox', { name: 'Reply', exact: true })
  const header = (page: Page) => page.locator('.chat-header')

  test('an agent sees an SMS arrive live, answers it, assigns, closes and reopens, and STOP closes the reply box', async () => {
    const page = await rig.signedIn('agent')
    await openInbox(page)
    await page.getByText('No conversations here.').waitFor()
    await assertCleanPage(page, 'empty inbox')

    // Nothing reloads the page from here on: the marker would be gone.
    await page.evaluate(() => {
      ;(window as unknown as { stillHere: boolean }).stillHere = true
    })
    let navigations = 0
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) navigations++
    })

    await text(CUSTOMER, 'Hello, my parcel is late')
    const item = page.getByRole('list', { name: 'Conversations' }).getByRole('link', {
      name: new RegExp(CUSTOMER.replace('+', '\\+')),
    })
    await item.waitFor()
    assert.match(await item.innerText(), /Unread/)
    await page.getByText('(1 unread open conversation)').waitFor()
    assert.equal(navigations, 0, 'the SMS arrived without a navigation')
    await assertCleanPage(page, 'inbox with a new conversation')

    await item.click()
    await page.waitForURL((u) => u.pathname.startsWith('/conversations/conv_'))
    await page
      .getByRole('heading', { level: 2, name: new RegExp(CUSTOMER.replace('+', '\\+')) })
      .waitFor()
    const thread = page.getByRole('log', { name: 'Messages' })
    await thread.getByText('Hello, my parcel is late').waitFor()
    assert.match(await header(page).innerText(), /nothing recorded/)

    // Reply, with the live counter, and watch it reach delivered.
    await replyBox(page).fill('We are on it: your parcel leaves today.')
    assert.match(
      await page.getByTestId('segment-counter').innerText(),
      /39 characters · GSM-7 · 1 segment/,
    )
    await page.getByRole('button', { name: 'Send reply' }).click()
    const outbound = thread.locator('.bubble.outbound', {
      hasText: 'We are on it: your parcel leaves today.',
    })
    await outbound.waitFor()
    await outbound.locator('.tick[data-status="delivered"]').waitFor({ timeout: 10_000 })
    assert.match(await outbound.innerText(), /Delivered/)
    assert.equal(await replyBox(page).inputValue(), '', 'the reply box is emptied')
    await assertCleanPage(page, 'conversation answered')

    // Assign, close, reopen, mark read: each shows at once and is what the API holds.
    await page.getByRole('button', { name: 'Assign to me' }).click()
    await header(page).getByText('Assigned to agent@example.com').waitFor()
    await page.getByRole('button', { name: 'Close' }).click()
    await header(page).getByText('Closed', { exact: true }).waitFor()
    const convId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!)
    const state = async () =>
      (
        await rig.t.inject({
          method: 'GET',
          url: `/v1/conversations/${convId}`,
          headers: rig.t.auth(),
        })
      ).json<{ status: string; assignee: string | null; unread: boolean; flags: unknown[] }>()
    assert.equal((await state()).status, 'closed')
    assert.equal((await state()).assignee, 'agent@example.com')
    await page.getByRole('button', { name: 'Reopen' }).click()
    await header(page).getByText('Open', { exact: true }).waitFor()
    await page.getByRole('button', { name: 'Mark read' }).click()
    await page.getByRole('button', { name: 'Mark read' }).waitFor({ state: 'detached' })
    assert.deepEqual(
      { status: (await state()).status, unread: (await state()).unread },
      { status: 'open', unread: false },
    )
    await page.getByRole('button', { name: 'Unassign' }).click()
    await header(page).getByText('Unassigned').waitFor()
    await assertCleanPage(page, 'conversation after the actions')

    // The customer texts STOP: the reply box closes live, saying why.
    assert.equal(await replyBox(page).isEnabled(), true)
    await text(CUSTOMER, 'STOP')
    await page.waitForFunction(
      () => document.querySelector<HTMLTextAreaElement>('.reply textarea')?.disabled === true,
    )
    const reason = await page.locator('#reply-reason').innerText()
    assert.match(
      reason,
      new RegExp(
        `^Sending is disabled: \\${CUSTOMER} opted out by replying STOP on .+ \\(sender \\${OUR_NUMBER}\\)\\.$`,
      ),
    )
    assert.equal(await page.getByRole('button', { name: 'Send reply' }).isDisabled(), true)
    assert.match(await header(page).innerText(), /opted out of sender \+15005550006/)
    // The keyword's confirmation is in the thread too.
    await thread.getByText(/You are unsubscribed/).waitFor()
    await assertCleanPage(page, 'conversation after STOP')

    // Free text that reads like an opt-out is flagged for review, and the flag can be cleared.
    await text(CUSTOMER, 'please stop texting me')
    const flags = page.getByRole('region', { name: 'Review flags' })
    await flags.waitFor()
    assert.match(await flags.innerText(), /“please stop texting me”.*reads like a request to stop/s)
    await thread.locator('.bubble.flagged', { hasText: 'please stop texting me' }).waitFor()
    await assertCleanPage(page, 'conversation with a review flag')
    await flags.getByRole('button', { name: 'Clear flag' }).click()
    await flags.waitFor({ state: 'detached' })
    assert.deepEqual((await state()).flags, [])

    assert.equal(
      await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere),
      true,
      'the page was never reloaded',
    )
    await assertCleanPage(page, 'conversation after clearing the flag')
  })

  test('at phone width the list and the chat come one after the other', async () => {
    await text('+14155550142', 'Is the shop open on Sunday?')
    const page = await rig.signedIn('agent', PHONE)
    await openInbox(page)
    const list = page.getByRole('list', { name: 'Conversations' })
    await list.waitFor()
    assert.equal(await page.locator('.inbox-chat').isVisible(), false, 'no chat before choosing')
    await assertCleanPage(page, 'inbox at phone width')
    await list.getByRole('link', { name: /\+14155550142/ }).click()
    await page
      .getByRole('log', { name: 'Messages' })
      .getByText('Is the shop open on Sunday?')
      .waitFor()
    assert.equal(await list.isVisible(), false, 'the list gives way to the chat')
    await replyBox(page).fill('Yes, 10 to 4.')
    await assertCleanPage(page, 'chat at phone width')
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    )
    assert.ok(overflow <= 0, `no sideways scrolling at phone width (${overflow}px)`)
    await page.getByRole('link', { name: '← Back to the inbox' }).click()
    await list.waitFor()
  })

  test('a viewer reads conversations and is told why it cannot reply', async () => {
    await text('+14155550143', 'Where is my order?')
    const page = await rig.signedIn('viewer')
    await openInbox(page)
    await page.getByRole('link', { name: /\+14155550143/ }).click()
    await page.getByRole('log', { name: 'Messages' }).getByText('Where is my order?').waitFor()
    assert.equal(await replyBox(page).isDisabled(), true)
    assert.match(
      await page.locator('#reply-reason').innerText(),
      /Read only: your role \(viewer\) can read conversations; agents and admins reply\./,
    )
    for (const name of ['Assign to me', 'Close', 'Mark read']) {
      assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, name)
    }
    await assertCleanPage(page, 'conversation as a viewer')
  })
})

// Risk: the pages each work alone but the story a newcomer tries does not: sign in, send from
// the compose box and see it delivered, answer a phone's reply that arrived live in the inbox,
// see a STOP from the phone close the reply box with the reason, read a verification code on
// the simulated phone and approve it, sign out, and be refused as a viewer.
// This is the "done means" in one run, on one server, with two tabs of one session.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { assertCleanPage, signIn, startDashboard, type DashboardRig } from './harness.js'

const PHONE_NUMBER = '+14155550177'
const esc = (s: string) => s.replace('+', '\\+')

describe('the dashboard, end to end', () => {
  let rig: DashboardRig
  before(async () => {
    rig = await startDashboard()
  })
  after(async () => rig.close())

  test('compose, delivery, a live reply, an answer, STOP, a verification code, sign-out, a viewer refused', async () => {
    // Sign in, and send from the compose box.
    const inbox = await rig.signedIn('admin')
    await inbox
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Messages' })
      .click()
    await inbox.getByLabel('To', { exact: true }).fill(PHONE_NUMBER)
    await inbox.getByLabel('Message', { exact: true }).fill('Your table for two is ready at 8.')
    await inbox.getByRole('button', { name: 'Send', exact: true }).click()
    const sent = inbox.getByRole('status').filter({ hasText: 'Sent:' })
    await sent.getByRole('link').click()
    await inbox.waitForURL((u) => u.pathname.startsWith('/messages/msg_'))
    await inbox.getByTestId('message-status').filter({ hasText: 'delivered' }).waitFor()
    await inbox.getByTestId('parts').getByText('1 of 1').waitFor()
    await assertCleanPage(inbox, 'a sent message, delivered')

    // The inbox is open, live, in one tab; the simulator phone in another.
    await inbox
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Conversations' })
      .click()
    await inbox.getByText('Live: new messages appear as they come').waitFor()
    // A reload would drop this marker (client-side route changes keep it).
    await inbox.evaluate(() => {
      ;(window as unknown as { stillHere: boolean }).stillHere = true
    })
    const notReloaded = () =>
      inbox.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere === true)
    const phone = await inbox.context().newPage()
    await phone.goto(`/simulator/${encodeURIComponent(PHONE_NUMBER)}`)
    const thread = phone.getByRole('log', { name: `Messages of ${PHONE_NUMBER}` })
    await thread.getByText('Your table for two is ready at 8.').waitFor()
    await phone.getByLabel('Reply as phone').fill('Can we make it 8:30?')
    await phone.getByRole('button', { name: 'Send as phone' }).click()

    // The reply arrives in the inbox without a reload, and is answered there.
    const item = inbox
      .getByRole('list', { name: 'Conversations' })
      .getByRole('link', { name: new RegExp(esc(PHONE_NUMBER)) })
    await item.waitFor()
    assert.ok(await notReloaded(), 'the reply arrived without a reload')
    await item.click()
    const chat = inbox.getByRole('log', { name: 'Messages' })
    await chat.getByText('Can we make it 8:30?').waitFor()
    await inbox
      .getByRole('textbox', { name: 'Reply', exact: true })
      .fill('8:30 it is. See you then!')
    await inbox.getByRole('button', { name: 'Send reply' }).click()
    await chat
      .locator('.bubble.outbound', { hasText: '8:30 it is. See you then!' })
      .locator('.tick[data-status="delivered"]')
      .waitFor()
    // ...and it reaches the phone.
    await thread.getByText('8:30 it is. See you then!').waitFor()
    await assertCleanPage(inbox, 'the inbox, answered')

    // STOP from the phone: the inbox's reply box closes, live, saying why.
    await phone.getByRole('button', { name: 'STOP', exact: true }).click()
    await thread.getByText(/unsubscribed/i).waitFor()
    await inbox.waitForFunction(
      () => document.querySelector<HTMLTextAreaElement>('.reply textarea')?.disabled === true,
    )
    assert.match(
      await inbox.locator('#reply-reason').innerText(),
      new RegExp(`^Sending is disabled: ${esc(PHONE_NUMBER)} opted out by replying STOP`),
    )
    assert.equal(await inbox.getByRole('button', { name: 'Send reply' }).isDisabled(), true)
    assert.ok(await notReloaded(), 'still no reload')
    await assertCleanPage(inbox, 'the inbox after STOP')
    await assertCleanPage(phone, 'the phone after STOP')

    // A verification started through the API; its code is read on the phone and approves it.
    const other = '+14155550178'
    const started = await rig.t.inject({
      method: 'POST',
      url: '/v1/verifications',
      headers: rig.t.auth(),
      payload: { to: other },
    })
    assert.equal(started.statusCode, 201, started.body)
    const { id } = started.json<{ id: string }>()
    await phone.goto(`/simulator/${encodeURIComponent(other)}`)
    const sms = phone
      .getByRole('log', { name: `Messages of ${other}` })
      .getByText(/verification code is \d+/)
    await sms.waitFor()
    const code = /verification code is (\d+)/.exec(await sms.innerText())?.[1]
    assert.ok(code, 'the phone shows the code')
    const checked = await rig.t.inject({
      method: 'POST',
      url: '/v1/verifications/check',
      headers: rig.t.auth(),
      payload: { to: other, code },
    })
    assert.equal(checked.json<{ status: string }>().status, 'approved', checked.body)
    await inbox
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Verify' })
      .click()
    const row = inbox.getByRole('row', { name: new RegExp(esc(other)) })
    await row.getByText('approved').first().waitFor()
    assert.ok(!(await inbox.content()).includes(code), 'the Verify page never shows a code')
    assert.ok(id)
    await assertCleanPage(inbox, 'Verify, approved')

    // Sign out: the other tab's session is gone too.
    await inbox.getByRole('button', { name: 'Sign out' }).click()
    await inbox.getByRole('heading', { name: 'Sign in to Switchboard' }).waitFor()
    await phone.reload()
    await phone.getByRole('heading', { name: 'Sign in to Switchboard' }).waitFor()

    // A viewer: the compose box is closed with the reason, and the API refuses the change.
    await signIn(inbox, 'viewer')
    await inbox
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Messages' })
      .click()
    await inbox.getByText('Viewers can read only').first().waitFor()
    assert.equal(await inbox.getByRole('button', { name: 'Send', exact: true }).isDisabled(), true)
    const refused = await inbox.evaluate(async (to) => {
      const s = (await (await fetch('/auth/session')).json()) as { csrfToken: string }
      const res = await fetch('/v1/messages', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken },
        body: JSON.stringify({ to, body: 'not allowed' }),
      })
      return { status: res.status, body: (await res.json()) as { error: { code: string } } }
    }, '+14155550179')
    assert.deepEqual([refused.status, refused.body.error.code], [403, 'insufficient_scope'])
  })
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { hash53, pickSender } from './sticky-sender.js'

const senders = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ from: `+1415555${String(1000 + i)}` }))
const PINNED = ['+14155551000', '+14155551002', '+14155551002', '+14155551001']
const recipients = Array.from({ length: 5000 }, (_, i) => `+1212${String(5_550_000 + i)}`)

test('the same recipient gets the same sender every time, whatever the list order', () => {
  const list = senders(5)
  const reversed = [...list].reverse()
  for (const to of recipients.slice(0, 500)) {
    const s = pickSender(to, list)
    assert.equal(pickSender(to, list), s)
    assert.equal(pickSender(to, reversed), s)
  }
})

test('recipients spread over every sender', () => {
  const counts = new Map<string | null, number>()
  for (const to of recipients) {
    const s = pickSender(to, senders(4))
    counts.set(s, (counts.get(s) ?? 0) + 1)
  }
  assert.equal(counts.size, 4)
  // 1,250 each expected; hashing keeps every share within 15% of it.
  for (const n of counts.values()) assert.ok(n > 1060 && n < 1440, `share ${n}`)
})

test('adding a sender moves only the recipients it takes (about 1/(n+1))', () => {
  const before = senders(4)
  const after = senders(5)
  let moved = 0
  for (const to of recipients) {
    const a = pickSender(to, before)
    const b = pickSender(to, after)
    if (a !== b) {
      moved++
      // A recipient that moves moves to the new sender, never between old ones.
      assert.equal(b, after[4]?.from)
    }
  }
  assert.ok(moved > 0.15 * recipients.length && moved < 0.25 * recipients.length, `moved ${moved}`)
})

test('removing a sender moves only its own recipients', () => {
  const all = senders(5)
  const fewer = all.slice(1)
  for (const to of recipients.slice(0, 1000)) {
    const a = pickSender(to, all)
    if (a !== all[0]?.from) assert.equal(pickSender(to, fewer), a)
  }
})

test('no senders: null (the provider default); one sender: that one', () => {
  assert.equal(pickSender('+12125550100', []), null)
  assert.equal(pickSender('+12125550100', [{ from: 'ACME' }]), 'ACME')
})

test('the hash is stable across versions (sticky senders survive restarts and upgrades)', () => {
  assert.equal(hash53(''), 3338908027751811)
  assert.equal(hash53('+12125550100\u0000+14155551000'), hash53('+12125550100\u0000+14155551000'))
  assert.notEqual(hash53('a'), hash53('b'))
  // The highest weight wins: these picks are what every version must keep making.
  const list = senders(3)
  assert.deepEqual(
    ['+12125550100', '+12125550101', '+12125550102', '+12125550103'].map((to) =>
      pickSender(to, list),
    ),
    PINNED,
  )
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { MessageRecord } from './message.js'
import { mulberry32 } from '../../../test/support/prng.js'
import { messageJson, presentMessage } from './present.js'

const rng = mulberry32

/** Characters JSON escapes or that tend to break hand-written serializers. */
const TRICKY = [
  '"',
  '\\',
  '/',
  '\n',
  '\r',
  '\t',
  '\b',
  '\f',
  '\u0000',
  '\u001f',
  '\u007f',
  '\u2028',
  '\u2029',
  'é',
  '€',
  '中',
  '😀',
  '\ud83d',
  '\ude00',
  '{',
  '}',
  '<',
  '>',
  '&',
  "'",
  ' ',
]

function text(r: () => number, max: number): string {
  let s = ''
  const n = Math.floor(r() * max)
  for (let i = 0; i < n; i++) {
    s +=
      r() < 0.3
        ? (TRICKY[Math.floor(r() * TRICKY.length)] ?? '')
        : String.fromCharCode(32 + Math.floor(r() * 95))
  }
  return s
}

function json(r: () => number, depth: number): unknown {
  const k = r()
  if (depth > 2 || k < 0.4) {
    const v = r()
    if (v < 0.2) return text(r, 12)
    if (v < 0.4) return [0, -0, 1e21, 0.1, -7, 2 ** 53, 1.5e-7][Math.floor(r() * 7)]
    if (v < 0.6) return r() < 0.5
    if (v < 0.7) return null
    return Math.floor(r() * 1e6) - 5e5
  }
  if (k < 0.6) return Array.from({ length: Math.floor(r() * 4) }, () => json(r, depth + 1))
  const o: Record<string, unknown> = {}
  for (let i = Math.floor(r() * 5); i > 0; i--) {
    const key = r() < 0.3 ? String(Math.floor(r() * 20)) : text(r, 8)
    o[key] = json(r, depth + 1)
  }
  return o
}

const maybe = <T>(r: () => number, v: () => T): T | null => (r() < 0.5 ? null : v())
const time = (r: () => number) => Math.floor(r() * 4_102_444_800_000)

function record(r: () => number): MessageRecord {
  const created = time(r)
  const m: MessageRecord = {
    id: `msg_${text(r, 30)}`,
    api_key_id: maybe(r, () => 'key_1'),
    direction: r() < 0.5 ? 'outbound' : 'inbound',
    to_number: `+1${Math.floor(r() * 1e10)}`,
    from_number: maybe(r, () => text(r, 12)),
    body: text(r, 200),
    type: r() < 0.5 ? 'transactional' : 'marketing',
    encoding: r() < 0.5 ? 'GSM-7' : 'UCS-2',
    segments: 1 + Math.floor(r() * 10),
    smart_encoding: r() < 0.5 ? 1 : 0,
    status: (['queued', 'scheduled', 'sending', 'sent', 'delivered', 'failed'] as const)[
      Math.floor(r() * 6)
    ] as MessageRecord['status'],
    error_code: maybe(r, () => text(r, 20)),
    error_message: maybe(r, () => text(r, 60)),
    provider: maybe(r, () => text(r, 10)),
    provider_message_id: maybe(r, () => text(r, 34)),
    // As prepareMessage stores it: the JSON.stringify text of the parsed request field.
    metadata: maybe(r, () => JSON.stringify(JSON.parse(JSON.stringify(json(r, 0) ?? {})) ?? {})),
    status_callback: maybe(r, () => `https://example.com/${text(r, 40)}`),
    validity_period: Math.floor(r() * 1_209_600),
    valid_until: created + Math.floor(r() * 1e9),
    send_at: maybe(r, () => time(r)),
    attempts: Math.floor(r() * 20),
    next_attempt_at: maybe(r, () => time(r)),
    lease_owner: maybe(r, () => 'w1'),
    lease_until: maybe(r, () => time(r)),
    created_at: created,
    updated_at: r() < 0.5 ? created : time(r),
    sent_at: maybe(r, () => time(r)),
    completed_at: maybe(r, () => time(r)),
    sender: maybe(r, () => text(r, 12)),
    estimated_cost: maybe(r, () => Math.round(r() * 1e6) / 1e6),
    cost_currency: maybe(r, () => 'USD'),
    price: maybe(r, () => Math.round(r() * 1e6) / 1e6),
    price_currency: maybe(r, () => 'EUR'),
    template_name: r() < 0.5 ? null : `t_${text(r, 10)}`,
    template_version: null,
    template_locale: null,
  }
  if (m.template_name !== null) {
    m.template_version = 1 + Math.floor(r() * 9)
    m.template_locale = r() < 0.5 ? 'pt-BR' : text(r, 5)
  }
  return m
}

test('messageJson writes exactly JSON.stringify(presentMessage(m)), for records of every shape', () => {
  const r = rng(20261125)
  for (let i = 0; i < 5_000; i++) {
    const m = record(r)
    assert.equal(messageJson(m), JSON.stringify(presentMessage(m)), `case ${i}`)
  }
})

test('messageJson: repeated and differing times are each written as their own', () => {
  const base = record(rng(1))
  const a = { ...base, created_at: 0, updated_at: 0, valid_until: 86_400_000 }
  const b = { ...a, created_at: 1, updated_at: 2 }
  for (const m of [a, b, a]) assert.equal(messageJson(m), JSON.stringify(presentMessage(m)))
})

test('messageJson writes times as Date#toISOString does, across minutes, years and 1970', () => {
  const base = record(rng(2))
  const r = rng(3)
  const times = [0, 1, 59_999, 60_000, -1, -60_001, 253_402_300_799_999, 946_684_799_999]
  for (let i = 0; i < 2_000; i++) times.push(Math.floor(r() * 4_102_444_800_000) - 1e12)
  for (const t of times) {
    const m = { ...base, created_at: t, updated_at: t + 1, valid_until: t + 86_400_000 }
    assert.equal(messageJson(m), JSON.stringify(presentMessage(m)), `time ${t}`)
  }
})

test('a statusCallback password is masked in both views, which still agree', () => {
  const base = record(rng(4))
  for (const [url, shown] of <[string, string][]>[
    ['https://user:s3cret@hooks.example.com/cb', 'https://user:****@hooks.example.com/cb'],
    ['https://tok_s3cret@hooks.example.com/cb', 'https://****@hooks.example.com/cb'],
    ['https://hooks.example.com/cb?to=a@b', 'https://hooks.example.com/cb?to=a@b'],
  ]) {
    const m = { ...base, status_callback: url }
    assert.equal(presentMessage(m).statusCallback, shown)
    assert.equal(messageJson(m), JSON.stringify(presentMessage(m)))
    assert.doesNotMatch(messageJson(m), /s3cret/)
  }
})

/**
 * Plivo callback signatures against Plivo's own SDK (`plivo` 4.79.0): its published vectors,
 * what our signer makes (the fake server signs with it) accepted by the SDK, and our verifier
 * agreeing with the SDK's on generated URLs, parameters and tampered copies.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import plivo from 'plivo'
import { mulberry32 } from '../../../test/support/prng.js'
import { signCallback } from './plivo.fake-server.js'
import {
  parseParams,
  signV2,
  signV3,
  verifyPlivoSignature,
  type Params,
} from './plivo-signature.js'

const TOKEN = 'MAXXXXXXXXXXXXXXXXXX_token'
const URL_ = 'https://sb.example.com/webhooks/plivo/status'
const CALLBACK = {
  From: '14155551234',
  To: '14155556789',
  Status: 'delivered',
  MessageUUID: 'db3ce55a-7f1d-11e1-8ea7-1231380bc196',
  TotalAmount: '0.00500',
  TotalRate: '0.00500',
  Units: '1',
  ErrorCode: '',
}

const asParams = (o: Record<string, string>): Params =>
  new Map(Object.entries(o).map(([k, v]) => [k, [v]]))

const verify = (
  headers: Record<string, string>,
  o: { method?: string; url?: string; params?: Record<string, string>; token?: string } = {},
): boolean =>
  verifyPlivoSignature(o.token ?? TOKEN, {
    method: o.method ?? 'POST',
    url: o.url ?? URL_,
    headers,
    params: asParams(o.params ?? CALLBACK),
  })

test('V2 reproduces the vectors of plivo-node test/utils.js', () => {
  assert.equal(
    signV2('my_auth_token', 'https://answer.url', '12345'),
    'ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc=',
  )
  assert.equal(
    signV2('my_auth_token', 'https://answer.url:8000', '24725744043720739450'),
    'LDphWoWimP4QM5AoWI1uwP6WmlWtt5ITPZjXIWYvCNU=',
  )
})

test('V2 signs the URL without its query, port and path kept as given (the SDK agrees)', () => {
  for (const url of [
    'https://sb.example.com/webhooks/plivo/status?token=abc&x=1',
    'http://127.0.0.1:41234/webhooks/plivo-eu/inbound',
    'https://sb.example.com:8443/base/webhooks/plivo/status/',
  ]) {
    const sig = signV2(TOKEN, url, '31415926535')
    assert.equal(plivo.validateSignature(url, '31415926535', sig, TOKEN), true, url)
    assert.equal(
      verify({ 'x-plivo-signature-v2': sig, 'x-plivo-signature-v2-nonce': '31415926535' }, { url }),
      true,
    )
  }
  // The query is not signed by V2: the same signature holds for another query.
  const sig = signV2(TOKEN, `${URL_}?a=1`, 'n1')
  assert.equal(sig, signV2(TOKEN, `${URL_}?a=2`, 'n1'))
})

test('V3 for POST and GET as made by our signer is accepted by the SDK', () => {
  const cases: { method: 'GET' | 'POST'; url: string; params: Record<string, string> }[] = [
    { method: 'POST', url: URL_, params: CALLBACK },
    { method: 'POST', url: `${URL_}?b=2&a=1`, params: CALLBACK },
    { method: 'POST', url: URL_, params: {} },
    { method: 'POST', url: `${URL_}?only=query`, params: {} },
    { method: 'POST', url: URL_, params: { Text: 'Grüße € 😀 a+b&c=d', From: '4915123456789' } },
    { method: 'GET', url: `${URL_}?${new URLSearchParams(CALLBACK).toString()}`, params: {} },
  ]
  for (const c of cases) {
    const sig = signV3(TOKEN, c.method, c.url, asParams(c.params), '05429567804466091622')
    assert.equal(
      plivo.validateV3Signature(c.method, c.url, '05429567804466091622', TOKEN, sig, c.params),
      true,
      `${c.method} ${c.url}`,
    )
  }
})

test('callback headers from the fake server are valid to the SDK, both versions, main-account variants too', () => {
  const headers = signCallback(TOKEN, 'POST', URL_, CALLBACK)
  assert.ok(
    plivo.validateSignature(
      URL_,
      headers['X-Plivo-Signature-V2-Nonce'] ?? '',
      headers['X-Plivo-Signature-V2'] ?? '',
      TOKEN,
    ),
  )
  assert.ok(
    plivo.validateV3Signature(
      'POST',
      URL_,
      headers['X-Plivo-Signature-V3-Nonce'] ?? '',
      TOKEN,
      headers['X-Plivo-Signature-Ma-V3'] ?? '',
      CALLBACK,
    ),
  )
  assert.equal(verify(headers), true)
})

test('verification: tampered parameters, URL, nonce, token or signature are refused', () => {
  const headers = signCallback(TOKEN, 'POST', URL_, CALLBACK)
  assert.equal(verify(headers, { params: { ...CALLBACK, Status: 'failed' } }), false)
  assert.equal(verify(headers, { params: { ...CALLBACK, Extra: '' } }), false)
  assert.equal(verify(headers, { url: URL_.replace('status', 'inbound') }), false)
  assert.equal(verify(headers, { url: `${URL_}?added=1` }), false, 'V3 covers the query')
  assert.equal(verify(headers, { token: `${TOKEN}x` }), false)
  assert.equal(verify({ ...headers, 'X-Plivo-Signature-V3-Nonce': '1' }), false)
  assert.equal(verify({ ...headers, 'X-Plivo-Signature-V2-Nonce': '1' }), false)
  const flipped = (s: string) => (s.startsWith('A') ? `B${s.slice(1)}` : `A${s.slice(1)}`)
  for (const h of ['X-Plivo-Signature-V2', 'X-Plivo-Signature-V3']) {
    const bad = {
      ...headers,
      [h]: flipped(headers[h] ?? ''),
      [h.replace('Signature-', 'Signature-Ma-')]: 'x',
    }
    assert.equal(verify(bad), false, h)
  }
})

test('verification: one good signature of each version present is enough, by either header', () => {
  const both = signCallback(TOKEN, 'POST', URL_, CALLBACK)
  const pick = (...names: string[]) =>
    Object.fromEntries(Object.entries(both).filter(([k]) => names.includes(k)))
  // A subaccount's token signs X-Plivo-Signature-V2; the main account's the -Ma- header.
  assert.equal(
    verify({
      ...pick('X-Plivo-Signature-V2-Nonce', 'X-Plivo-Signature-V2'),
      'X-Plivo-Signature-Ma-V2': 'main=',
    }),
    true,
  )
  assert.equal(
    verify({
      ...pick('X-Plivo-Signature-V2-Nonce', 'X-Plivo-Signature-Ma-V2'),
      'X-Plivo-Signature-V2': 'sub=',
    }),
    true,
  )
  assert.equal(verify(pick('X-Plivo-Signature-V3-Nonce', 'X-Plivo-Signature-V3')), true)
  // Several signatures in one V3 header: accepted when one matches.
  const v3 = both['X-Plivo-Signature-V3'] ?? ''
  assert.equal(
    verify({ ...pick('X-Plivo-Signature-V3-Nonce'), 'X-Plivo-Signature-V3': `bogus=,${v3}` }),
    true,
  )
  assert.equal(
    plivo.validateV3Signature(
      'POST',
      URL_,
      both['X-Plivo-Signature-V3-Nonce'] ?? '',
      TOKEN,
      `bogus=,${v3}`,
      CALLBACK,
    ),
    true,
  )
  // No signature, a signature without its nonce, or an unsigned method: refused.
  assert.equal(verify({}), false)
  assert.equal(verify(pick('X-Plivo-Signature-V3')), false)
  assert.equal(verify(pick('X-Plivo-Signature-V2')), false, 'V2 without its nonce')
  assert.equal(
    verify({
      ...pick('X-Plivo-Signature-V3-Nonce', 'X-Plivo-Signature-V3'),
      'X-Plivo-Signature-V2': 'x',
    }),
    false,
    'a good V3 beside a V2 without its nonce',
  )
  assert.equal(
    verify(pick('X-Plivo-Signature-V3-Nonce', 'X-Plivo-Signature-V3'), { method: 'PUT' }),
    false,
  )
  // A bad V2 next to a good V3 is still a bad callback.
  assert.equal(
    verify({ ...both, 'X-Plivo-Signature-V2': 'x', 'X-Plivo-Signature-Ma-V2': 'y' }),
    false,
  )
})

test('our verifier and the SDK agree on 300 generated callbacks and their tampered copies', () => {
  const rand = mulberry32(8)
  let accepted = 0
  const pickOne = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T
  const word = () =>
    Array.from({ length: 1 + Math.floor(rand() * 6) }, () => pickOne([...'aZ09 +&=%€é.-_/?'])).join(
      '',
    )
  for (let i = 0; i < 300; i++) {
    const method = pickOne(['GET', 'POST'] as const)
    const query = Array.from({ length: Math.floor(rand() * 3) }, (): [string, string] => [
      pickOne(['a', 'b', 'token', 'Z']),
      word(),
    ])
    const params: Record<string, string> = {}
    for (let k = Math.floor(rand() * 5); k > 0; k--)
      params[pickOne(['Text', 'From', 'To', 'Status', 'ErrorCode', 'Units'])] = word()
    const base = `${pickOne(['https://sb.example.com', 'http://127.0.0.1:8080'])}/webhooks/p${i}/status`
    const url = query.length > 0 ? `${base}?${new URLSearchParams(query).toString()}` : base
    const signed = method === 'POST' ? params : {}
    const nonce = String(Math.floor(rand() * 1e15))
    const good = signV3(TOKEN, method, url, asParams(signed), nonce)
    const sigs = [
      good,
      `${good.startsWith('A') ? 'B' : 'A'}${good.slice(1)}`,
      signV3(TOKEN, method, `${url}x`, asParams(signed), nonce),
    ]
    for (const sig of sigs) {
      const ours = verifyPlivoSignature(TOKEN, {
        method,
        url,
        headers: { 'x-plivo-signature-v3': sig, 'x-plivo-signature-v3-nonce': nonce },
        params: asParams(signed),
      })
      const sdk = plivo.validateV3Signature(method, url, nonce, TOKEN, sig, signed)
      assert.equal(ours, sdk, `case ${i}: ${method} ${url} ${JSON.stringify(params)}`)
      if (ours) accepted++
    }
  }
  // Every untampered signature passed both, and none of the tampered ones.
  assert.equal(accepted, 300)
})

test('parseParams keeps repeated keys, decodes + and percent escapes', () => {
  const p = parseParams('a=1&b=x+y%26z&a=2&c=')
  assert.deepEqual(
    [...p.entries()],
    [
      ['a', ['1', '2']],
      ['b', ['x y&z']],
      ['c', ['']],
    ],
  )
})

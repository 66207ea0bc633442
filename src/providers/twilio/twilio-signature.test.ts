import assert from 'node:assert/strict'
import { test } from 'node:test'
import { getExpectedTwilioSignature, validateRequest } from 'twilio/lib/webhooks/webhooks.js'
import { mulberry32 } from '../../../test/support/prng.js'
import {
  portVariants,
  twilioSignature,
  verifyTwilioSignature,
  type TwilioParams,
} from './twilio-signature.js'

// Twilio's documented example (https://www.twilio.com/docs/usage/webhooks/webhooks-security).
const TOKEN = '12345'
const URL_ = 'https://mycompany.com/myapp.php?foo=1&bar=2'
const PARAMS = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+12349013030',
  Digits: '1234',
  From: '+12349013030',
  To: '+18005551212',
}

test("Twilio's documented example vector, as the SDK computes it", () => {
  assert.equal(twilioSignature(TOKEN, URL_, PARAMS), '0/KCTR6DLpKmkAf8muzZqo1nDgQ=')
  assert.equal(getExpectedTwilioSignature(TOKEN, URL_, PARAMS), '0/KCTR6DLpKmkAf8muzZqo1nDgQ=')
})

test('equals the SDK on random callbacks: unicode, & and = in values, repeated keys, key order', () => {
  const rand = mulberry32(8)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T
  const pieces = ['a', 'Z', '0', ' ', '&', '=', '+', '%20', 'é', '€', '😀', '\u00a0', '?', '#', "'"]
  const word = (n: number) => Array.from({ length: n }, () => pick(pieces)).join('')
  for (let i = 0; i < 300; i++) {
    const params: Record<string, string | string[]> = {}
    const keys = 1 + Math.floor(rand() * 8)
    for (let k = 0; k < keys; k++) {
      const key =
        pick(['MessageSid', 'Body', 'To', 'From', 'ErrorCode', 'a', 'B', '_x', 'Zz']) + word(1)
      params[key] = rand() < 0.2 ? [word(3), word(2), word(3)] : word(Math.floor(rand() * 6))
    }
    const url = `https://sb.example.com${rand() < 0.5 ? ':8443' : ''}/webhooks/t/status?${word(2)}=${word(2)}`
    const token = `token-${i}-${word(3)}`
    assert.equal(
      twilioSignature(token, url, params),
      getExpectedTwilioSignature(token, url, params),
    )
  }
})

test('repeated keys: distinct values in order, the key before each (duplicates count once)', () => {
  const params: TwilioParams = {
    To: '+1555',
    MediaUrl: ['https://b/2', 'https://a/1', 'https://b/2'],
  }
  assert.equal(
    twilioSignature(TOKEN, URL_, params),
    getExpectedTwilioSignature(TOKEN, URL_, { ...params }),
  )
  assert.notEqual(
    twilioSignature(TOKEN, URL_, params),
    twilioSignature(TOKEN, URL_, { To: '+1555', MediaUrl: 'https://a/1' }),
  )
})

test('verify accepts what the SDK signs and refuses every tampering', () => {
  const sig = getExpectedTwilioSignature(TOKEN, URL_, PARAMS)
  assert.equal(verifyTwilioSignature(TOKEN, sig, URL_, PARAMS), true)
  assert.equal(verifyTwilioSignature(TOKEN, sig, URL_, { ...PARAMS, Digits: '9' }), false)
  assert.equal(verifyTwilioSignature(TOKEN, sig, URL_, { ...PARAMS, Extra: '' }), false)
  const { Digits: _dropped, ...fewer } = PARAMS
  assert.equal(verifyTwilioSignature(TOKEN, sig, URL_, fewer), false)
  // The query is signed as sent: reordering it is another URL.
  assert.equal(
    verifyTwilioSignature(TOKEN, sig, 'https://mycompany.com/myapp.php?bar=2&foo=1', PARAMS),
    false,
  )
  assert.equal(
    verifyTwilioSignature(TOKEN, sig, 'http://mycompany.com/myapp.php?foo=1&bar=2', PARAMS),
    false,
  )
  assert.equal(verifyTwilioSignature('54321', sig, URL_, PARAMS), false)
  assert.equal(verifyTwilioSignature(TOKEN, undefined, URL_, PARAMS), false)
  assert.equal(verifyTwilioSignature(TOKEN, '', URL_, PARAMS), false)
  assert.equal(verifyTwilioSignature(TOKEN, [sig, sig], URL_, PARAMS), false)
  assert.equal(verifyTwilioSignature(TOKEN, sig.slice(0, -1), URL_, PARAMS), false)
  assert.equal(verifyTwilioSignature(TOKEN, `${sig}=`, URL_, PARAMS), false)
  const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1)
  assert.equal(verifyTwilioSignature(TOKEN, flipped, URL_, PARAMS), false)
})

test('a GET callback is signed over its URL alone', () => {
  const url = 'https://sb.example.com/webhooks/t/inbound?MessageSid=SM1&From=%2B1555&Body=hi+there'
  const sig = getExpectedTwilioSignature(TOKEN, url, {})
  assert.equal(verifyTwilioSignature(TOKEN, sig, url, {}), true)
  assert.equal(verifyTwilioSignature(TOKEN, sig, url.replace('hi', 'ho'), {}), false)
})

test('port forms: Twilio signed with and without the port; both verify, as in the SDK', () => {
  const cases = [
    ['https://example.com/sms', 'https://example.com:443/sms'],
    ['https://example.com:443/sms', 'https://example.com/sms'],
    ['http://127.0.0.1:3000/sms', 'http://127.0.0.1:3000/sms'],
    ['https://example.com/sms', 'https://example.com:8443/sms'],
    ['http://example.com/sms?x=1', 'http://example.com:80/sms?x=1'],
    ['https://u:p@example.com/sms', 'https://u:p@example.com:443/sms'],
    ['https://[::1]/sms', 'https://[::1]:443/sms'],
  ] as const
  for (const [signedUrl, requestedUrl] of cases) {
    const sig = getExpectedTwilioSignature(TOKEN, signedUrl, PARAMS)
    assert.equal(validateRequest(TOKEN, sig, requestedUrl, PARAMS), true, `SDK ${signedUrl}`)
    assert.equal(verifyTwilioSignature(TOKEN, sig, requestedUrl, PARAMS), true, `ours ${signedUrl}`)
  }
  // Another port than the one requested is another URL.
  const sig = getExpectedTwilioSignature(TOKEN, 'https://example.com:8443/sms', PARAMS)
  assert.equal(validateRequest(TOKEN, sig, 'https://example.com/sms', PARAMS), false)
  assert.equal(verifyTwilioSignature(TOKEN, sig, 'https://example.com/sms', PARAMS), false)
  assert.deepEqual(portVariants('https://example.com:8443/a?b=c:d'), [
    'https://example.com:8443/a?b=c:d',
    'https://example.com/a?b=c:d',
  ])
  assert.deepEqual(portVariants('not a url'), ['not a url', 'not a url'])
})

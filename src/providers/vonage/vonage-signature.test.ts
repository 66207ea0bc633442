import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Vonage } from '@vonage/server-sdk'
import {
  MAX_SIGNATURE_SKEW_MS,
  sameSecret,
  signVonageParams,
  verifyVonageSignature,
  VONAGE_SIGNATURE_METHODS,
  type VonageSignatureMethod,
} from './vonage-signature.js'

/** The oracle: the Vonage SDK's own `SMS.verifySignature` (@vonage/sms via the server SDK). */
const sms = new Vonage({ apiKey: 'abcd1234', apiSecret: 'unused' }).sms
type Algorithm = Parameters<typeof sms.verifySignature>[3]
const ALGORITHM: Record<VonageSignatureMethod, Algorithm> = {
  md5hash: 'MD5HASH' as Algorithm,
  md5: 'MD5HMAC' as Algorithm,
  sha1: 'SHA1HMAC' as Algorithm,
  sha256: 'SHA256HMAC' as Algorithm,
  sha512: 'SHA512HMAC' as Algorithm,
}
const sdkVerifies = (
  sig: string,
  params: Record<string, string>,
  secret: string,
  method: VonageSignatureMethod,
): boolean => sms.verifySignature(sig, params, secret, ALGORITHM[method])

// Vonage/vonage-node-sdk packages/sms/__tests__/__dataSets__/signature.ts
const VECTOR_PARAMS = {
  'message-timestamp': '2013-11-21 15:27:30',
  messageId: '020000001B0FE827',
  msisdn: '14843472194',
  text: 'Test again',
  timestamp: '1385047698',
  to: '13239877404',
  type: 'text',
}
const VECTOR_SECRET = 'my_secret_key_for_testing'
const VECTORS: Record<VonageSignatureMethod, string> = {
  md5hash: 'd2e7b1dc968737c5998ad624e02f90b7',
  md5: 'DDEBD46008C2D4E93CCE578A332A52D5',
  sha1: '27D0D05C2876C7CB1720DBCDBA4D492E1E55C09A',
  sha256: 'DDB8397C2B90AAC7F3882D306475C9A5058C92322EEF43C92B298B6E0FC0D330',
  sha512:
    'E0D3C650F8C9D1A5C174D10DDDBFB003E561F59B265616208B0487C5D819481CD3C311D59CF6165ECD1139622D5BA3A256C0D763AC4A9AD9144B5A426B94FE82',
}
const VECTOR_TIME = Number(VECTOR_PARAMS.timestamp) * 1000

for (const method of VONAGE_SIGNATURE_METHODS) {
  test(`${method}: the SDK's published vector is reproduced and verified`, () => {
    assert.equal(signVonageParams(VECTOR_PARAMS, VECTOR_SECRET, method), VECTORS[method])
    assert.ok(sdkVerifies(VECTORS[method], VECTOR_PARAMS, VECTOR_SECRET, method))
    const signed = { ...VECTOR_PARAMS, sig: VECTORS[method] }
    assert.ok(verifyVonageSignature(signed, VECTOR_SECRET, method, VECTOR_TIME))
  })

  test(`${method}: what we sign, the SDK verifies; tampered, neither does`, () => {
    const params = {
      msisdn: '447700900000',
      to: 'AcmeInc',
      text: 'You & Me = Love, 100% €',
      status: 'delivered',
      timestamp: '1700000000',
      nonce: 'a1b2',
    }
    const sig = signVonageParams(params, 's3cret', method)
    assert.ok(sdkVerifies(sig, params, 's3cret', method))
    assert.ok(verifyVonageSignature({ ...params, sig }, 's3cret', method, 1_700_000_000_000))
    const tampered = { ...params, status: 'failed' }
    assert.equal(sdkVerifies(sig, tampered, 's3cret', method), false)
    assert.equal(
      verifyVonageSignature({ ...tampered, sig }, 's3cret', method, 1_700_000_000_000),
      false,
    )
  })
}

test('md5hash is lowercase hex and the HMAC methods uppercase, as Vonage sends them', () => {
  assert.match(signVonageParams(VECTOR_PARAMS, VECTOR_SECRET, 'md5hash'), /^[0-9a-f]{32}$/)
  assert.match(signVonageParams(VECTOR_PARAMS, VECTOR_SECRET, 'sha256'), /^[0-9A-F]{64}$/)
})

test('`&` and `=` are replaced inside values only, not between parameters', () => {
  const a = signVonageParams({ a: 'x&b=y', timestamp: '1' }, 's', 'sha256')
  const b = signVonageParams({ a: 'x', b: 'y', timestamp: '1' }, 's', 'sha256')
  assert.notEqual(a, b)
  assert.equal(a, signVonageParams({ a: 'x_b_y', timestamp: '1' }, 's', 'sha256'))
})

test('the signature is compared without regard to case', () => {
  const upper = { ...VECTOR_PARAMS, sig: VECTORS.sha1.toLowerCase() }
  assert.ok(verifyVonageSignature(upper, VECTOR_SECRET, 'sha1', VECTOR_TIME))
  const lower = { ...VECTOR_PARAMS, sig: VECTORS.md5hash.toUpperCase() }
  assert.ok(verifyVonageSignature(lower, VECTOR_SECRET, 'md5hash', VECTOR_TIME))
})

test('the wrong method, the wrong secret or a malformed sig does not verify', () => {
  const signed = { ...VECTOR_PARAMS, sig: VECTORS.sha256 }
  assert.equal(verifyVonageSignature(signed, VECTOR_SECRET, 'sha512', VECTOR_TIME), false)
  assert.equal(verifyVonageSignature(signed, 'other', 'sha256', VECTOR_TIME), false)
  const bad = ['', 'zz', VECTORS.sha256.slice(1), `${VECTORS.sha256}00`]
  // Node's hex decoder stops at the first non-hex character and drops an odd last digit.
  bad.push(`${VECTORS.sha256}0`, `${VECTORS.sha256}g`, `${VECTORS.sha256}zz`)
  for (const sig of bad) {
    assert.equal(
      verifyVonageSignature({ ...VECTOR_PARAMS, sig }, VECTOR_SECRET, 'sha256', VECTOR_TIME),
      false,
      sig,
    )
  }
})

test('a callback without sig or timestamp does not verify', () => {
  const { timestamp: _t, ...noTimestamp } = VECTOR_PARAMS
  const sig = signVonageParams(noTimestamp, VECTOR_SECRET, 'md5hash')
  assert.equal(
    verifyVonageSignature({ ...noTimestamp, sig }, VECTOR_SECRET, 'md5hash', VECTOR_TIME),
    false,
  )
  assert.equal(verifyVonageSignature(VECTOR_PARAMS, VECTOR_SECRET, 'md5hash', VECTOR_TIME), false)
})

test('a timestamp more than five minutes from our clock does not verify (replay)', () => {
  const signed = { ...VECTOR_PARAMS, sig: VECTORS.md5hash }
  const edge = MAX_SIGNATURE_SKEW_MS
  assert.ok(verifyVonageSignature(signed, VECTOR_SECRET, 'md5hash', VECTOR_TIME + edge))
  assert.ok(verifyVonageSignature(signed, VECTOR_SECRET, 'md5hash', VECTOR_TIME - edge))
  assert.equal(
    verifyVonageSignature(signed, VECTOR_SECRET, 'md5hash', VECTOR_TIME + edge + 1000),
    false,
  )
  assert.equal(
    verifyVonageSignature(signed, VECTOR_SECRET, 'md5hash', VECTOR_TIME - edge - 1000),
    false,
  )
})

test('sameSecret compares tokens of any length', () => {
  assert.ok(sameSecret('abc', 'abc'))
  assert.equal(sameSecret('abd', 'abc'), false)
  assert.equal(sameSecret('ab', 'abc'), false)
  assert.equal(sameSecret('', 'abc'), false)
  assert.equal(sameSecret(undefined, 'abc'), false)
})

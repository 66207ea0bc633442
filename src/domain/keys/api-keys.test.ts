import assert from 'node:assert/strict'
import { test } from 'node:test'
import { generateApiKey, hashKey, hasScope, looksLikeApiKey } from './api-keys.js'

test('keys carry a prefix and checksum; only the hash is kept', () => {
  const k = generateApiKey()
  assert.match(k.key, /^sb_live_[0-9A-Za-z]{38}$/)
  assert.equal(k.hash, hashKey(k.key))
  assert.equal(k.hash.length, 64)
  assert.ok(!k.hash.includes(k.key))
  assert.ok(looksLikeApiKey(k.key))
  const typo = k.key.slice(0, 20) + (k.key[20] === 'a' ? 'b' : 'a') + k.key.slice(21)
  assert.equal(looksLikeApiKey(typo), false, 'a typo fails the checksum')
})

test('admin implies every scope', () => {
  assert.ok(hasScope(['admin'], 'messages:write'))
  assert.ok(hasScope(['messages:read'], 'messages:read'))
  assert.equal(hasScope(['messages:read'], 'messages:write'), false)
})

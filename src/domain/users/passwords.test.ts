import assert from 'node:assert/strict'
import { test } from 'node:test'
import { hasScope } from '../keys/api-keys.js'
import {
  DUMMY_HASH,
  generatePassword,
  hashPassword,
  safeEqual,
  scopesForRole,
  sessionIdOf,
  verifyPassword,
} from './passwords.js'

test('scrypt hashes carry their parameters and a random salt, and verify', async () => {
  const a = await hashPassword('hunter2 é')
  const b = await hashPassword('hunter2 é')
  assert.match(a, /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/)
  assert.notEqual(a, b, 'a random salt per hash')
  assert.equal(await verifyPassword('hunter2 é', a), true)
  assert.equal(await verifyPassword('hunter2 e', a), false)
  assert.equal(await verifyPassword('', a), false)
  // The parameters are read from the string: other ones derive another key.
  assert.equal(await verifyPassword('hunter2 é', a.replace('$32768$', '$16384$')), false)
})

test('malformed hashes and the dummy hash never match', async () => {
  for (const stored of [
    '',
    'scrypt$1$2',
    'bcrypt$x$y$z$a$b',
    'scrypt$0$8$1$AA$AA',
    'scrypt$32768$8$1$AA$',
  ]) {
    assert.equal(await verifyPassword('x', stored), false, stored)
  }
  assert.equal(await verifyPassword('', DUMMY_HASH), false)
  assert.equal(await verifyPassword('password', DUMMY_HASH), false)
})

test('roles map to API key scopes', () => {
  const can = (role: string, scope: 'admin' | 'messages:read' | 'messages:write') =>
    hasScope(scopesForRole(role), scope)
  assert.deepEqual(
    ['admin', 'messages:write', 'messages:read'].map((s) => can('admin', s as 'admin')),
    [true, true, true],
  )
  assert.equal(can('agent', 'messages:write'), true)
  assert.equal(can('agent', 'messages:read'), true)
  assert.equal(can('agent', 'admin'), false)
  assert.equal(can('viewer', 'messages:read'), true)
  assert.equal(can('viewer', 'messages:write'), false)
  assert.equal(can('viewer', 'admin'), false)
  assert.equal(can('root', 'messages:read'), false)
})

test('tokens, session ids and comparisons', () => {
  const p = generatePassword()
  assert.match(p, /^[A-Za-z0-9_-]{20}$/)
  assert.notEqual(p, generatePassword())
  assert.match(sessionIdOf('abc'), /^[0-9a-f]{64}$/)
  assert.equal(safeEqual('abc', 'abc'), true)
  assert.equal(safeEqual('abc', 'abd'), false)
  assert.equal(safeEqual('abc', 'abcd'), false)
})

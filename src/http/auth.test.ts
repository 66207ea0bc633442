import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readCookie } from './auth.js'
import { isSecure } from './auth.routes.js'

test('readCookie finds one cookie among several', () => {
  assert.equal(readCookie('a=1; sb_session=tok; b=2', 'sb_session'), 'tok')
  assert.equal(readCookie('sb_session=tok', 'sb_session'), 'tok')
  assert.equal(readCookie('xsb_session=tok', 'sb_session'), undefined)
  assert.equal(readCookie(undefined, 'sb_session'), undefined)
  assert.equal(readCookie('sb_session', 'sb_session'), undefined)
})

test('session cookies are Secure over HTTPS or behind an https PUBLIC_URL', () => {
  assert.equal(isSecure('https', 'http://127.0.0.1:3000'), true)
  assert.equal(isSecure('http', 'https://sms.example.com'), true)
  assert.equal(isSecure('http', 'http://127.0.0.1:3000'), false)
})

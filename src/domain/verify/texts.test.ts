import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  CODE_PLACEHOLDER,
  DEFAULT_TEXTS,
  defaultLocale,
  defaultText,
  holdsCodeOnce,
  redacted,
  withCode,
} from './texts.js'

test('the default text has no run of 4 digits but the code, in every locale and TTL', () => {
  for (const locale of Object.keys(DEFAULT_TEXTS)) {
    for (let ttl = 60; ttl <= 3600; ttl++) {
      const text = defaultText('Switchboard', locale, ttl)
      assert.ok(holdsCodeOnce(text), `${locale} ${ttl}`)
      const sent = withCode(text, '9876543210')
      const runs = sent.match(/\d{4,}/g) ?? []
      assert.deepEqual(runs, ['9876543210'], `${locale} ${ttl}: ${sent}`)
    }
  }
})

test('locales fall back to their language, then English', () => {
  assert.equal(defaultLocale('pt-BR'), 'pt')
  assert.equal(defaultLocale('es_MX'), 'es')
  assert.equal(defaultLocale('DE'), 'de')
  assert.equal(defaultLocale('ja'), 'en')
  assert.equal(defaultLocale(undefined), 'en')
  assert.equal(
    withCode(defaultText('Acme', 'fr-CA', 60), '1234'),
    'Votre code de vérification Acme est 1234. Il expire dans 1 minute.',
  )
})

test('the redacted text has a star per digit, in place of the code', () => {
  const text = defaultText('Acme', 'en', 600)
  assert.equal(
    redacted(text, 6),
    'Your Acme verification code is ******. It expires in 10 minutes.',
  )
  assert.equal(redacted(text, 6).length, withCode(text, '123456').length)
  assert.ok(!holdsCodeOnce(`${CODE_PLACEHOLDER}${CODE_PLACEHOLDER}`))
  assert.ok(!holdsCodeOnce('no code'))
})

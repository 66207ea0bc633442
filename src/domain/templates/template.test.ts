import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  canonicalLocale,
  checkDefinition,
  formatValue,
  localeChain,
  renderForSend,
  scopeOf,
  valueProblem,
} from './template.js'

const def = (body: string, variables?: unknown) => {
  const d = checkDefinition(body, variables)
  if (!d.ok) throw new Error(JSON.stringify(d.details))
  return d.value
}

test('renders Liquid without HTML escaping, with filters and loops', () => {
  const d = def('Hi {{ name | upcase }} <{{ tag }}> & {% if vip == "y" %}VIP{% endif %}', {
    name: { type: 'string' },
    tag: { type: 'string' },
    vip: { type: 'string', default: '' },
  })
  const r = renderForSend(d.compiled, d.decls, { name: 'ana', tag: 'b&c' }, 'en')
  assert.deepEqual(r, { ok: true, value: 'Hi ANA <b&c> & ' })
  const vip = renderForSend(d.compiled, d.decls, { name: 'a', tag: 'b', vip: 'y' }, 'en')
  assert.deepEqual(vip, { ok: true, value: 'Hi A <b> & VIP' })
})

test('a missing variable is never rendered blank: missing and undeclared are reported together', () => {
  const d = def('Hi {{ name }} {{ code }}', { name: { type: 'string' }, code: { type: 'string' } })
  const r = renderForSend(d.compiled, d.decls, { code: '1', nam: 'x' }, 'en')
  assert.equal(r.ok, false)
  if (r.ok) return
  assert.equal(r.error.code, 'template_variables_invalid')
  assert.deepEqual(r.details, { missing: ['name'], undeclared: ['nam'] })
  // null takes the default; without one it is missing
  const withDefault = def('Hi {{ name }}', { name: { type: 'string', default: 'there' } })
  assert.deepEqual(renderForSend(withDefault.compiled, withDefault.decls, { name: null }, 'en'), {
    ok: true,
    value: 'Hi there',
  })
})

test('values of the wrong type are reported as invalid', () => {
  const d = def('{{ n }}', { n: { type: 'number' } })
  const r = renderForSend(d.compiled, d.decls, { n: '3' }, 'en')
  assert.equal(r.ok, false)
  if (!r.ok)
    assert.deepEqual(r.details, {
      missing: [],
      undeclared: [],
      invalid: [{ name: 'n', reason: 'expected a number' }],
    })
})

test('checkDefinition: undeclared references, bad names, types, defaults, time zones, tags', () => {
  const code = (body: string, variables?: unknown) => {
    const r = checkDefinition(body, variables)
    return r.ok ? 'ok' : `${r.error.code}:${String(r.details.field)}`
  }
  assert.equal(code('Hi {{ name }}'), 'template_invalid:body')
  const undeclared = checkDefinition('{{ a }}{{ b.c }}{% for x in list %}{{ x }}{% endfor %}', {
    a: { type: 'string' },
  })
  assert.ok(!undeclared.ok && JSON.stringify(undeclared.details.undeclared) === '["b","list"]')
  assert.equal(code('{{ a'), 'template_invalid:body')
  assert.equal(code("{% include 'f' %}"), 'template_invalid:body')
  assert.equal(code("{% render 'f' %}"), 'template_invalid:body')
  assert.equal(code('{{ a | nosuch }}', { a: { type: 'string' } }), 'template_invalid:body')
  assert.equal(code('x', { '1a': { type: 'string' } }), 'template_invalid:variables.1a')
  assert.equal(code('x', { a: { type: 'money' } }), 'template_invalid:variables.a')
  assert.equal(
    code('x', { a: { type: 'number', default: 'x' } }),
    'template_invalid:variables.a.default',
  )
  assert.equal(
    code('x', { a: { type: 'date', default: '2026-13-45' } }),
    'template_invalid:variables.a.default',
  )
  assert.equal(
    code('x', { a: { type: 'currency', default: { amount: 1 } } }),
    'template_invalid:variables.a.default',
  )
  assert.equal(
    code('x', { a: { type: 'string', timeZone: 'UTC' } }),
    'template_invalid:variables.a',
  )
  assert.equal(
    code('x', { a: { type: 'date', timeZone: 'Mars/Base' } }),
    'template_invalid:variables.a',
  )
  assert.equal(code('{% assign y = 1 %}{{ y }}', {}), 'ok', 'assigned names are not variables')
  assert.equal(
    code('x', { a: { type: 'date', timeZone: 'America/Sao_Paulo', default: '2026-01-01' } }),
    'ok',
  )
})

test('locales: canonical BCP 47 and the fallback chain to the default', () => {
  assert.equal(canonicalLocale('pt-br'), 'pt-BR')
  assert.equal(canonicalLocale('EN'), 'en')
  assert.equal(canonicalLocale('not a tag'), undefined)
  assert.equal(canonicalLocale(''), undefined)
  assert.deepEqual(localeChain('pt-BR', 'en'), ['pt-BR', 'pt', 'en'])
  assert.deepEqual(localeChain('zh-Hant-TW', 'en'), ['zh-Hant-TW', 'zh-Hant', 'zh', 'en'])
  assert.deepEqual(localeChain('en-GB', 'en'), ['en-GB', 'en'])
  assert.deepEqual(localeChain(undefined, 'pt'), ['pt'])
})

test('formatting per locale: numbers, dates, date-times in a time zone, currency', () => {
  assert.equal(formatValue({ type: 'number' }, 1234.5, 'pt-BR'), '1.234,5')
  assert.equal(formatValue({ type: 'number' }, 1234.5, 'en'), '1,234.5')
  assert.equal(formatValue({ type: 'date' }, '2026-03-05', 'pt-BR'), '5 de mar. de 2026')
  assert.equal(formatValue({ type: 'date' }, '2026-03-05', 'en'), 'Mar 5, 2026')
  // ICU versions differ in the space before AM (U+0020 or U+202F).
  assert.match(
    formatValue({ type: 'date' }, '2026-03-05T01:30:00Z', 'en'),
    /^Mar 5, 2026, 1:30\sAM$/,
  )
  assert.equal(
    formatValue({ type: 'date', timeZone: 'America/Sao_Paulo' }, '2026-03-05T01:30:00Z', 'pt-BR'),
    '4 de mar. de 2026, 22:30',
  )
  assert.equal(
    formatValue({ type: 'currency' }, { amount: 9.9, currency: 'EUR' }, 'de'),
    '9,90\u00a0€',
  )
  assert.equal(valueProblem('date', '05/03/2026') !== undefined, true)
  assert.equal(valueProblem('currency', { amount: 1, currency: 'usd' }) !== undefined, true)
  assert.equal(valueProblem('number', Number.NaN) !== undefined, true)
})

test('preview scope is forgiving: a missing variable shows as its {{ name }}', () => {
  const s = scopeOf({ a: { type: 'string' }, b: { type: 'number' } }, { b: 'x', c: 1 }, 'en', true)
  assert.deepEqual(s.scope, { a: '{{ a }}', b: '{{ b }}' })
  assert.deepEqual(s.report, {
    missing: ['a'],
    undeclared: ['c'],
    invalid: [{ name: 'b', reason: 'expected a number' }],
  })
})

test('a render that runs away is template_render_failed, not a hang', () => {
  const d = def('{% for i in (1..100000000) %}xxxxxxxxxx{% endfor %}', {})
  const r = renderForSend(d.compiled, d.decls, {}, 'en')
  assert.equal(r.ok ? 'ok' : r.error.code, 'template_render_failed')
})

test('strict variables: a property a value does not have fails instead of rendering blank', () => {
  const d = def('Hi {{ name.first }}', { name: { type: 'string' } })
  const r = renderForSend(d.compiled, d.decls, { name: 'Ana' }, 'en')
  assert.equal(r.ok ? r.value : r.error.code, 'template_render_failed')
})

// Risk: a template renders with a blank, picks the wrong locale or version, an archived one
// still sends, the message does not record what it was rendered from, or the preview's
// encoding, segments and cost disagree with the send path.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestSwitchboard, type TestSwitchboard } from '../support/harness.js'

interface Version {
  name: string
  locale: string
  version: number
  defaultLocale: string
  body: string
  variables: Record<string, unknown>
}
interface Msg {
  id: string
  body: string
  encoding: string
  segments: number
  template: { name: string; version: number; locale: string } | null
}

describe('templates API', () => {
  let t: TestSwitchboard

  before(async () => {
    t = await startTestSwitchboard({
      DEFAULT_COUNTRY: 'US',
      PRICES: JSON.stringify([
        { provider: 'simulator', country: 'US', price: 0.0079, currency: 'USD' },
        { provider: 'simulator', country: 'BR', price: 0.05, currency: 'USD' },
      ]),
    })
  })
  after(async () => {
    await t.close()
  })

  const post = (url: string, payload: unknown, key?: string) =>
    t.inject({ method: 'POST', url, headers: t.auth(key), payload: payload as object })
  const create = async (payload: Record<string, unknown>) => {
    const res = await post('/v1/templates', payload)
    assert.equal(res.statusCode, 201, res.body)
    return res.json<Version>()
  }
  const send = (payload: Record<string, unknown>) =>
    post('/v1/messages', { to: '+14155550100', ...payload }, t.keys.write)

  test('versions are numbered per locale; the first locale is the default', async () => {
    const v1 = await create({
      name: 'welcome',
      locale: 'en',
      body: 'Hi {{ first_name }}!',
      variables: { first_name: { type: 'string' } },
    })
    assert.deepEqual([v1.locale, v1.version, v1.defaultLocale], ['en', 1, 'en'])
    const v2 = await create({
      name: 'welcome',
      body: 'Hello {{ first_name }}!',
      variables: { first_name: { type: 'string' } },
    })
    assert.deepEqual([v2.locale, v2.version], ['en', 2], 'no locale: the default one')
    const pt = await create({
      name: 'welcome',
      locale: 'pt',
      body: 'Oi {{ first_name }}!',
      variables: { first_name: { type: 'string' } },
    })
    assert.deepEqual([pt.locale, pt.version, pt.defaultLocale], ['pt', 1, 'en'])
    const ptBr = await create({
      name: 'welcome',
      locale: 'pt-br',
      body: 'Olá {{ first_name }}!',
      variables: { first_name: { type: 'string' } },
    })
    assert.equal(ptBr.locale, 'pt-BR', 'canonical BCP 47')

    const got = await t.inject({
      method: 'GET',
      url: '/v1/templates/welcome',
      headers: t.auth(t.keys.read),
    })
    assert.equal(got.statusCode, 200)
    const view = got.json<{
      defaultLocale: string
      locales: { locale: string; versions: { version: number; body: string }[] }[]
    }>()
    assert.equal(view.defaultLocale, 'en')
    const en = view.locales.find((l) => l.locale === 'en')
    assert.deepEqual(
      en?.versions.map((v) => [v.version, v.body]),
      [
        [2, 'Hello {{ first_name }}!'],
        [1, 'Hi {{ first_name }}!'],
      ],
    )
    const list = await t.inject({
      method: 'GET',
      url: '/v1/templates',
      headers: t.auth(t.keys.read),
    })
    const row = list
      .json<{ data: { name: string; locales: unknown[]; archived: boolean }[] }>()
      .data.find((d) => d.name === 'welcome')
    assert.deepEqual(row?.locales, [
      { locale: 'en', latestVersion: 2 },
      { locale: 'pt', latestVersion: 1 },
      { locale: 'pt-BR', latestVersion: 1 },
    ])
    assert.equal(row?.archived, false)
  })

  test('a send falls back pt-BR, then pt, then the default; it records template, version and locale', async () => {
    const cases: [string | undefined, string, string][] = [
      ['pt-BR', 'Olá Ana!', 'pt-BR'],
      ['pt-PT', 'Oi Ana!', 'pt'],
      ['de', 'Hello Ana!', 'en'],
      [undefined, 'Hello Ana!', 'en'],
    ]
    for (const [locale, body, used] of cases) {
      const res = await send({
        template: 'welcome',
        variables: { first_name: 'Ana' },
        ...(locale ? { locale } : {}),
      })
      assert.equal(res.statusCode, 202, res.body)
      const m = res.json<Msg>()
      assert.equal(m.body, body)
      assert.equal(m.template?.locale, used)
      const stored = await t.inject({
        method: 'GET',
        url: `/v1/messages/${m.id}`,
        headers: t.auth(),
      })
      assert.deepEqual(stored.json<Msg>().template, {
        name: 'welcome',
        version: used === 'en' ? 2 : 1,
        locale: used,
      })
    }
    const badLocale = await send({
      template: 'welcome',
      variables: { first_name: 'A' },
      locale: 'x y',
    })
    assert.equal(badLocale.statusCode, 422)
    assert.equal(badLocale.json<{ error: { code: string } }>().error.code, 'validation_failed')
    const stray = await send({ body: 'x', variables: { first_name: 'A' } })
    assert.equal(stray.statusCode, 422, 'variables without a template')
    const plain = await send({ body: 'plain' })
    assert.equal(plain.json<Msg>().template, null)
  })

  test('templateVersion picks an older version; an unknown one is template_version_not_found', async () => {
    const res = await send({
      template: 'welcome',
      variables: { first_name: 'Ana' },
      templateVersion: 1,
    })
    assert.equal(res.statusCode, 202)
    assert.equal(res.json<Msg>().body, 'Hi Ana!')
    const none = await send({
      template: 'welcome',
      variables: { first_name: 'Ana' },
      templateVersion: 9,
    })
    assert.equal(none.statusCode, 404)
    assert.equal(none.json<{ error: { code: string } }>().error.code, 'template_version_not_found')
  })

  test('missing and undeclared variables are refused, never sent blank; a default fills in', async () => {
    const res = await send({ template: 'welcome', variables: { firstname: 'Ana' } })
    assert.equal(res.statusCode, 422)
    assert.deepEqual(res.json<{ error: unknown }>().error, {
      code: 'template_variables_invalid',
      message: 'Template variables are missing, undeclared or not of their declared type',
      details: { missing: ['first_name'], undeclared: ['firstname'] },
    })
    await create({
      name: 'promo',
      body: 'Hi {{ name }}, {{ total }} due {{ due }}',
      variables: {
        name: { type: 'string', default: 'there' },
        total: { type: 'currency' },
        due: { type: 'date' },
      },
    })
    const ok = await send({
      template: 'promo',
      locale: 'pt-BR',
      variables: { total: { amount: 1234.5, currency: 'BRL' }, due: '2026-03-05' },
    })
    assert.equal(ok.statusCode, 202, ok.body)
    assert.equal(ok.json<Msg>().body, 'Hi there, R$1,234.50 due Mar 5, 2026')
    assert.equal(ok.json<Msg>().template?.locale, 'en', 'values are formatted for the text used')
    await create({
      name: 'promo',
      locale: 'pt-BR',
      body: 'Oi {{ name }}, {{ total }} vence {{ due }}',
      variables: {
        name: { type: 'string', default: 'você' },
        total: { type: 'currency' },
        due: { type: 'date' },
      },
    })
    const pt = await send({
      template: 'promo',
      locale: 'pt-BR',
      variables: { total: { amount: 1234.5, currency: 'BRL' }, due: '2026-03-05' },
    })
    assert.equal(pt.json<Msg>().body, 'Oi você, R$\u00a01.234,50 vence 5 de mar. de 2026')
  })

  test('a batch refuses only its entries with bad variables', async () => {
    const res = await post(
      '/v1/messages/batch',
      {
        messages: [
          { to: '+14155550100', template: 'welcome', variables: { first_name: 'Ana' } },
          { to: '+14155550101', template: 'welcome', variables: {} },
          { to: '+14155550102', template: 'nope' },
          { to: '+14155550103', body: 'x', template: 'welcome' },
        ],
      },
      t.keys.write,
    )
    assert.equal(res.statusCode, 202)
    const b = res.json<{
      accepted: number
      data: { index: number; error?: { code: string; details: unknown } }[]
    }>()
    assert.equal(b.accepted, 1)
    assert.deepEqual(b.data[1]?.error?.code, 'template_variables_invalid')
    assert.deepEqual(b.data[1]?.error?.details, { missing: ['first_name'], undeclared: [] })
    assert.equal(b.data[2]?.error?.code, 'template_not_found')
    assert.equal(b.data[3]?.error?.code, 'validation_failed')
  })

  test('a body that does not parse, or uses an undeclared variable, is template_invalid', async () => {
    for (const [body, variables] of [
      ['Hi {{ name ', {}],
      ['Hi {{ name }}', {}],
      ["{% include 'x' %}", {}],
      ['x', { n: { type: 'number', default: 'one' } }],
      ['x', { 'bad-name': { type: 'string' } }],
    ] as const) {
      const res = await post('/v1/templates', { name: 'bad', body, variables })
      assert.equal(res.statusCode, 422, `${body}: ${res.body}`)
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'template_invalid')
    }
    const locale = await post('/v1/templates', { name: 'bad', body: 'x', locale: 'not a locale' })
    assert.equal(locale.json<{ error: { code: string } }>().error.code, 'template_invalid')
  })

  test('writes need admin; reads messages:read', async () => {
    const res = await post('/v1/templates', { name: 'w', body: 'x' }, t.keys.write)
    assert.equal(res.statusCode, 403)
    const del = await t.inject({
      method: 'DELETE',
      url: '/v1/templates/welcome',
      headers: t.auth(t.keys.write),
    })
    assert.equal(del.statusCode, 403)
  })

  test('an archived template refuses sends and previews; a new version restores it', async () => {
    await create({ name: 'old', body: 'old text' })
    const del = await t.inject({ method: 'DELETE', url: '/v1/templates/old', headers: t.auth() })
    assert.equal(del.statusCode, 204)
    const res = await send({ template: 'old' })
    assert.equal(res.statusCode, 422)
    assert.equal(res.json<{ error: { code: string } }>().error.code, 'template_archived')
    const preview = await post('/v1/templates/preview', { template: 'old' }, t.keys.read)
    assert.equal(preview.json<{ error: { code: string } }>().error.code, 'template_archived')
    const got = await t.inject({ method: 'GET', url: '/v1/templates/old', headers: t.auth() })
    assert.equal(got.json<{ archived: boolean }>().archived, true)
    const missing = await t.inject({
      method: 'DELETE',
      url: '/v1/templates/none',
      headers: t.auth(),
    })
    assert.equal(missing.statusCode, 404)
    await create({ name: 'old', body: 'new text' })
    const again = await send({ template: 'old' })
    assert.equal(again.statusCode, 202)
    assert.equal(again.json<Msg>().body, 'new text')
  })

  test('preview of a saved template and of an unsaved body: text, encoding, segments, cost', async () => {
    const saved = await post(
      '/v1/templates/preview',
      { template: 'welcome', locale: 'pt-BR', variables: { first_name: 'Ana' } },
      t.keys.read,
    )
    assert.equal(saved.statusCode, 200, saved.body)
    assert.deepEqual(saved.json(), {
      text: 'Olá Ana!',
      encoding: 'UCS-2',
      segments: 1,
      charactersLeft: 62,
      nonGsmCharacters: [{ char: 'á', replacement: null }],
      ucs2Characters: ['á'],
      cost: [
        { country: 'BR', provider: 'simulator', amount: 0.05, currency: 'USD' },
        { country: 'US', provider: 'simulator', amount: 0.0079, currency: 'USD' },
      ],
      template: { name: 'welcome', version: 1, locale: 'pt-BR' },
    })
    const unsaved = await post(
      '/v1/templates/preview',
      { body: 'Hi {{ name }} \u201cquoted\u201d {{ n }}', variables: { n: 3 } },
      t.keys.read,
    )
    assert.equal(unsaved.statusCode, 200, unsaved.body)
    const p = unsaved.json<Record<string, unknown>>()
    assert.equal(p.text, 'Hi {{ name }} \u201cquoted\u201d 3')
    assert.deepEqual(p.missing, ['name'])
    assert.deepEqual(p.nonGsmCharacters, [
      { char: '\u201c', replacement: '"' },
      { char: '\u201d', replacement: '"' },
    ])
    // Without smart encoding every non-GSM character forces UCS-2; with it, only those it
    // cannot replace (an emoji), and a text it can replace whole is GSM-7.
    assert.equal(p.encoding, 'UCS-2')
    assert.deepEqual(p.ucs2Characters, ['\u201c', '\u201d'])
    const smart = async (body: string) => {
      const res = await post('/v1/templates/preview', { body, smartEncoding: true }, t.keys.read)
      assert.equal(res.statusCode, 200, res.body)
      return res.json<{ encoding: string; ucs2Characters: string[] }>()
    }
    const emoji = await smart('\u201cok\u201d \u{1F389}')
    assert.equal(emoji.encoding, 'UCS-2')
    assert.deepEqual(emoji.ucs2Characters, ['\u{1F389}'])
    const replaced = await smart('\u201cok\u201d')
    assert.equal(replaced.encoding, 'GSM-7')
    assert.deepEqual(replaced.ucs2Characters, [])
    const both = await post(
      '/v1/templates/preview',
      { body: 'x', template: 'welcome' },
      t.keys.read,
    )
    assert.equal(both.statusCode, 422)
  })
})

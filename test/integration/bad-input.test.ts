/**
 * Bad input: malformed requests of every kind, kept as data by group in bad-input/*.cases.ts,
 * must each get the one documented 4xx: the expected status and registry code, a
 * `{ error: { code, message, details? } }` body, and an `x-request-id` header (the caller's when
 * well formed). Requests the HTTP parser itself refuses are sent over a real socket.
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, test } from 'node:test'

import type { InjectOptions, LightMyRequestResponse } from 'fastify'

import { errors } from '../../src/domain/errors.js'
import { generateApiKey } from '../../src/domain/keys/api-keys.js'
import { startTestSwitchboard, type TestSwitchboard } from '../support/harness.js'
import { cases as bodies } from './bad-input/bodies.cases.js'
import type { Case, KeyName } from './bad-input/case.js'
import { validMessage } from './bad-input/case.js'
import { cases as fields } from './bad-input/fields.cases.js'
import { cases as headers } from './bad-input/headers.cases.js'
import { cases as metadata } from './bad-input/metadata.cases.js'
import { cases as phoneNumbers } from './bad-input/phone-numbers.cases.js'
import { cases as webhooks } from './bad-input/provider-webhooks.cases.js'
import { cases as queryStrings } from './bad-input/query-strings.cases.js'
import { cases as routes } from './bad-input/routes.cases.js'
import { cases as scheduling } from './bad-input/scheduling.cases.js'
import { cases as senders } from './bad-input/senders.cases.js'

const GROUPS: Record<string, Case[]> = {
  bodies,
  headers,
  fields,
  'phone numbers': phoneNumbers,
  senders,
  metadata,
  scheduling,
  'query strings': queryStrings,
  routes,
  'provider webhooks': webhooks,
}

const REGISTRY = new Map<string, { status: number }>(Object.values(errors).map((d) => [d.code, d]))
const CALLER_ID = /^[A-Za-z0-9._-]{1,64}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

let t: TestSwitchboard
let hooks: TestSwitchboard
let keys: Record<KeyName, string>

before(async () => {
  t = await startTestSwitchboard()
  // Signed provider webhooks need the HTTP simulator provider: nothing listens at its URL (only
  // its webhook side is used) and the API role runs no workers that would try to send.
  hooks = await startTestSwitchboard({ SIMULATOR_URL: 'http://127.0.0.1:9' }, { role: 'api' })
  const created = await t.inject({
    method: 'POST',
    url: '/v1/keys',
    headers: t.auth(),
    payload: { name: 'soon revoked', scopes: ['admin'] },
  })
  assert.equal(created.statusCode, 201, created.body)
  const revoked = created.json<{ id: string; key: string }>()
  const res = await t.inject({
    method: 'POST',
    url: `/v1/keys/${revoked.id}/revoke`,
    headers: t.auth(),
  })
  assert.equal(res.statusCode, 200, res.body)
  keys = { ...t.keys, revoked: revoked.key, unknown: generateApiKey().key }
})

after(async () => {
  await hooks?.close()
  await t?.close()
})

/** The request a case describes. */
function request(c: Case): InjectOptions {
  const h: Record<string, string | string[]> = {}
  if (c.key) h.authorization = `Bearer ${keys[c.key]}`
  if (c.authorization !== undefined) {
    h.authorization = c.authorization
      .replace('{ADMIN}', keys.admin.toUpperCase())
      .replace(/\{(\w+)\}/g, (_, name: string) => keys[name as KeyName])
  }
  const payload = c.raw ?? (c.json === undefined ? undefined : JSON.stringify(c.json))
  const contentType = c.contentType === undefined ? 'application/json' : c.contentType
  if (payload !== undefined && contentType !== null) h['content-type'] = contentType
  return {
    method: c.method ?? (payload === undefined ? 'GET' : 'POST'),
    url: c.url,
    headers: { ...h, ...c.headers },
    ...(payload === undefined ? {} : { payload }),
  }
}

/** Everything wrong with one answer, as sentences (empty when it is right). */
function problems(res: LightMyRequestResponse, c: Case): string[] {
  const out: string[] = []
  if (res.statusCode !== c.status) out.push(`status ${res.statusCode}, expected ${c.status}`)
  if (!String(res.headers['content-type']).startsWith('application/json')) {
    out.push(`content-type ${String(res.headers['content-type'])}`)
  }
  const sentId = c.headers?.['x-request-id']
  const gotId = String(res.headers['x-request-id'])
  if (typeof sentId === 'string' && CALLER_ID.test(sentId)) {
    if (gotId !== sentId) out.push(`x-request-id ${gotId}, expected the caller's ${sentId}`)
  } else if (!UUID.test(gotId)) out.push(`x-request-id ${gotId}, expected a generated UUID`)
  for (const [name, value] of Object.entries(c.responseHeaders ?? {})) {
    if (res.headers[name] !== value) out.push(`${name}: ${String(res.headers[name])}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(res.body)
  } catch {
    return [...out, `body is not JSON: ${res.body.slice(0, 120)}`]
  }
  if (!isRecord(parsed) || Object.keys(parsed).join() !== 'error' || !isRecord(parsed.error)) {
    return [...out, `body is not { error: {...} }: ${res.body.slice(0, 200)}`]
  }
  const e = parsed.error
  const extra = Object.keys(e).filter((key) => !['code', 'message', 'details'].includes(key))
  if (extra.length > 0) out.push(`unexpected error fields ${extra.join(', ')}`)
  if (e.code !== c.code) out.push(`code ${String(e.code)}, expected ${c.code}`)
  if (REGISTRY.get(c.code)?.status !== c.status) out.push(`${c.code} is not ${c.status}`)
  if (typeof e.message !== 'string' || e.message === '') out.push('no message')
  if (c.at) {
    const first: unknown = Array.isArray(e.details) ? e.details[0] : undefined
    if (!isRecord(first)) out.push(`details is not a list of problems`)
    else {
      const path = String(first.path)
      if (first.in !== (c.at.in ?? 'body')) out.push(`details[0].in ${String(first.in)}`)
      if (!(path === c.at.path || path.startsWith(`${c.at.path}/`))) {
        out.push(`details[0].path ${path}, expected ${c.at.path}`)
      }
      for (const k of ['message', 'property', 'allowed'] as const) {
        if (c.at[k] !== undefined && JSON.stringify(first[k]) !== JSON.stringify(c.at[k])) {
          out.push(
            `details[0].${k} ${JSON.stringify(first[k])}, expected ${JSON.stringify(c.at[k])}`,
          )
        }
      }
      if (c.at.message !== undefined && (e.details as unknown[]).length !== 1) {
        out.push(`${(e.details as unknown[]).length} details, expected the problem once`)
      }
    }
  }
  for (const [k, v] of Object.entries(c.details ?? {})) {
    const got = isRecord(e.details) ? e.details[k] : undefined
    if (JSON.stringify(got) !== JSON.stringify(v)) {
      out.push(`details.${k} ${JSON.stringify(got)}, expected ${JSON.stringify(v)}`)
    }
  }
  return out.length > 0 ? [...out, `body: ${res.body.slice(0, 300)}`] : out
}

for (const [group, cases] of Object.entries(GROUPS)) {
  test(`bad input: ${group} (${cases.length} cases)`, async () => {
    const names = new Set<string>()
    const failures: string[] = []
    for (const c of cases) {
      assert.ok(!names.has(c.name), `two ${group} cases are named ${c.name}`)
      names.add(c.name)
      let res: LightMyRequestResponse
      try {
        res = await (c.server === 'webhooks' ? hooks : t).inject(request(c))
      } catch (err) {
        failures.push(`${c.name}: inject threw ${(err as Error).message}`)
        continue
      }
      const p = problems(res, c)
      if (p.length > 0) failures.push(`${c.name}: ${p.join('; ')}`)
    }
    assert.deepEqual(failures, [], `${failures.length} of ${cases.length} failed`)
  })
}

test('requests the HTTP parser rejects get a registry body too (over a real socket)', async () => {
  // inject hands header values such as "a\r\nb" or "a\u0000b" to the app unchanged (the
  // corpus above covers that path); over a socket Node's HTTP parser refuses them before Fastify
  // sees the request, so these go through app.listen().
  const app = t.sb.app
  assert.ok(app)
  const { port } = new URL(await app.listen({ port: 0, host: '127.0.0.1' }))
  const raw = (request: string) =>
    new Promise<string>((resolve, reject) => {
      let out = ''
      const socket = connect(Number(port), '127.0.0.1', () => socket.end(request))
      socket.setEncoding('utf8')
      socket.setTimeout(5000, () => socket.destroy(new Error('no answer in 5 s')))
      socket.on('data', (chunk: string) => (out += chunk))
      socket.on('error', (err) => (out === '' ? reject(err) : resolve(out)))
      socket.on('close', () => resolve(out))
    })
  const body = JSON.stringify(validMessage())
  const post = (headers: string[], contentLength = String(Buffer.byteLength(body))) =>
    [
      'POST /v1/messages HTTP/1.1',
      'Host: localhost',
      `Authorization: Bearer ${keys.write}`,
      'Content-Type: application/json',
      ...headers,
      `Content-Length: ${contentLength}`,
      '',
      body,
    ].join('\r\n')
  const requests: [string, string][] = [
    ['NUL in Idempotency-Key', post(['Idempotency-Key: a\u0000b'])],
    ['bare CR in Idempotency-Key', post(['Idempotency-Key: a\rb'])],
    ['bare LF in a header value', post(['X-Note: a\nb'])],
    ['space in a header name', post(['Idempotency Key: abc'])],
    ['header line without a colon', post(['Idempotency-Key'])],
    ['Content-Length: abc', post([], 'abc')],
    ['two different Content-Lengths', post(['Content-Length: 5'])],
    ['Content-Length with Transfer-Encoding', post(['Transfer-Encoding: chunked'])],
    ['headers over 16 KiB', post([`X-Padding: ${'a'.repeat(20_000)}`])],
    ['garbage request line', 'GARBAGE\r\n\r\n'],
    ['space in the path', 'GET /v1/mess ages HTTP/1.1\r\nHost: localhost\r\n\r\n'],
    ['NUL in the path', 'GET /v1/\u0000 HTTP/1.1\r\nHost: localhost\r\n\r\n'],
  ]
  const failures: string[] = []
  for (const [label, request] of requests) {
    const answer = await raw(request)
    const [head = '', payload = ''] = answer.split('\r\n\r\n')
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1])
    let error: unknown
    try {
      error = (JSON.parse(payload) as { error?: unknown }).error
    } catch {
      error = undefined
    }
    const code = isRecord(error) ? String(error.code) : undefined
    if (
      status !== 400 ||
      code !== 'invalid_request' ||
      !isRecord(error) ||
      error.message !== errors.invalid_request.message ||
      !/^content-type: application\/json\r?$/im.test(head) ||
      !/^x-request-id: [0-9a-f-]{36}\r?$/im.test(head)
    ) {
      failures.push(`${label}: ${JSON.stringify(answer.slice(0, 200))}`)
    }
  }
  assert.deepEqual(failures, [])
})

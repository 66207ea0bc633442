// Risk: the published API contract drifts from what the server does: an operation that reveals
// schema details to a caller without a key, an OpenAPI document that tools cannot load or that
// omits the errors an operation gives, or examples in /docs that fail when tried.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import SwaggerParser from '@apidevtools/swagger-parser'
import pino from 'pino'
import { errorStatuses } from '../../src/http/openapi.js'
import { ReportIngestor } from '../../src/queue/report.ingestor.js'
import { inboundEffects } from '../../src/usecases/inbound.js'
import { createUser } from '../../src/usecases/users.js'
import { startTestSwitchboard, type TestSwitchboard } from '../support/harness.js'

interface Operation {
  method: string
  path: string
  op: {
    security?: unknown[]
    parameters?: { name: string; in: string }[]
    requestBody?: { content: Record<string, { example?: unknown; schema?: unknown }> }
    responses: Record<string, { description: string; content?: Record<string, unknown> }>
  }
}

interface Doc {
  openapi: string
  paths: Record<string, Record<string, Operation['op']>>
  components: { schemas: Record<string, unknown> }
}

function operations(doc: Doc): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  )
}

/** A concrete URL for an operation's path, with each parameter given `value`. */
const urlFor = (path: string, value: string) => path.replace(/\{[^}]+\}/g, value)

describe('API contract', () => {
  let t: TestSwitchboard
  let doc: Doc

  before(async () => {
    t = await startTestSwitchboard()
    doc = (await t.inject({ method: 'GET', url: '/openapi.json' })).json<Doc>()
  })
  after(() => t.close())

  test('every non-public operation answers 401 with WWW-Authenticate before validating anything', async () => {
    const ops = operations(doc).filter((o) => o.op.security?.length)
    assert.ok(ops.length >= 9, `found ${ops.length} protected operations`)
    // Malformed in every way the schema would otherwise report: a path parameter that fails
    // its pattern, a body that is not JSON, a body of the wrong type, unknown query fields.
    const attempts = (o: Operation) => [
      { url: urlFor(o.path, 'x'.repeat(65)), payload: '{"not json', type: 'application/json' },
      {
        url: `${urlFor(o.path, 'msg_1')}?limit=abc&nope=1`,
        payload: '[]',
        type: 'application/json',
      },
      { url: urlFor(o.path, 'msg_1'), payload: 'to=1', type: 'application/x-www-form-urlencoded' },
    ]
    for (const o of ops) {
      for (const a of attempts(o)) {
        for (const authorization of [undefined, 'Bearer sb_live_wrong', 'Basic Zm9vOmJhcg==']) {
          const res = await t.inject({
            method: o.method as 'GET' | 'POST',
            url: a.url,
            headers: {
              ...(authorization ? { authorization } : {}),
              ...(o.method === 'GET' ? {} : { 'content-type': a.type }),
            },
            ...(o.method === 'GET' ? {} : { payload: a.payload }),
          })
          const where = `${o.method} ${a.url} (${authorization ?? 'no key'})`
          assert.equal(res.statusCode, 401, where)
          assert.equal(res.headers['www-authenticate'], 'Bearer', where)
          assert.equal(res.json<{ error: { code: string } }>().error.code, 'unauthorized', where)
        }
      }
    }
  })

  test('a key without the scope gets 403 before validation, too', async () => {
    const res = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...t.auth(t.keys.read), 'content-type': 'application/json' },
      payload: '{"not json',
    })
    assert.equal(res.statusCode, 403)
    assert.equal(res.json<{ error: { code: string } }>().error.code, 'insufficient_scope')
  })

  test('the OpenAPI document passes @apidevtools/swagger-parser validation', async () => {
    assert.equal(doc.openapi, '3.1.0')
    await SwaggerParser.validate(structuredClone(doc) as never)
  })

  test('component schemas are named, Message and Error among them', () => {
    const names = Object.keys(doc.components.schemas)
    for (const n of ['Message', 'Error', 'MessageWithEvents', 'SendMessageRequest', 'ApiKey']) {
      assert.ok(names.includes(n), `${n} in ${names.join(', ')}`)
    }
    for (const n of names) assert.doesNotMatch(n, /^(def-\d+|Schema\d+)$/, `unnamed schema ${n}`)
  })

  test('every operation describes each response and lists every error it can give', async () => {
    const app = t.sb.app
    assert.ok(app)
    for (const o of operations(doc)) {
      const where = `${o.method} ${o.path}`
      for (const [status, r] of Object.entries(o.op.responses)) {
        assert.ok(r.description && r.description !== 'Default Response', `${where} ${status}`)
      }
      const fastifyPath = o.path.replace(/\{([^}]+)\}/g, ':$1')
      const found = app.hasRoute({ method: o.method, url: fastifyPath })
      assert.ok(found, where)
      for (const status of [500, 503]) assert.ok(o.op.responses[status], `${where} ${status}`)
      if (o.op.security?.length) {
        for (const status of [401, 403]) assert.ok(o.op.responses[status], `${where} ${status}`)
      }
      if (o.op.requestBody) {
        for (const status of [400, 413, 415, 422]) {
          assert.ok(o.op.responses[status], `${where} ${status}`)
        }
      }
      if (o.path.includes('{id}')) assert.ok(o.op.responses[404], `${where} 404`)
      for (const [status, r] of Object.entries(o.op.responses)) {
        if (Number(status) < 400) continue
        const schema = (r.content?.['application/json'] as { schema?: { $ref?: string } })?.schema
        assert.equal(schema?.$ref, '#/components/schemas/Error', `${where} ${status}`)
      }
    }
  })

  test('errorStatuses derives errors from scope, body, parameters and idempotency', () => {
    assert.deepEqual(errorStatuses({ method: 'GET', config: {}, schema: {} }), [500, 503])
    assert.deepEqual(
      errorStatuses({ method: 'GET', config: { scope: 'messages:read' }, schema: { params: {} } }),
      [401, 403, 404, 422, 500, 503],
    )
    assert.deepEqual(
      errorStatuses({
        method: 'POST',
        config: { scope: 'admin', idempotent: true },
        schema: { body: {} },
      }),
      [400, 401, 403, 409, 413, 415, 422, 500, 503],
    )
  })

  test('every POST that honours Idempotency-Key documents the header', () => {
    const posts = operations(doc).filter((o) => o.method === 'POST' && o.op.security?.length)
    const documented = posts.filter((o) =>
      o.op.parameters?.some((p) => p.in === 'header' && p.name === 'idempotency-key'),
    )
    assert.deepEqual(
      documented.map((o) => o.path).sort(),
      [
        '/v1/consents',
        '/v1/messages',
        '/v1/messages/batch',
        '/v1/messages/{id}/cancel',
        '/v1/templates',
        '/v1/webhooks/secret/rotate',
        '/v1/conversations/{id}/messages',
        '/v1/verifications',
      ].sort(),
    )
    for (const o of documented) assert.ok(o.op.responses[409], `${o.path} documents 409`)
  })

  test('request examples succeed when tried as /docs sends them', async () => {
    // Conversation operations need a conversation: an inbound SMS makes one.
    const ingestor = new ReportIngestor(
      t.sb.store,
      pino({ level: 'silent' }),
      Date.now,
      inboundEffects(t.sb.store),
    )
    const e = {
      type: 'inbound',
      providerMessageId: 'SMdocs',
      from: '+14155550123',
      to: '+15005550006',
      body: 'Hi',
      at: Date.now(),
    } as const
    await ingestor.ingest('simulator', [e])
    const conversation = (
      await t.inject({ method: 'GET', url: '/v1/conversations', headers: t.auth() })
    ).json<{ data: { id: string }[] }>().data[0]
    assert.ok(conversation)
    // User operations need a user that is not the last admin.
    const user = (
      await createUser({ store: t.sb.store, now: Date.now }, 'docs@example.com', 'agent')
    )?.row.id
    assert.ok(user)
    const idFor = (path: string) =>
      path.startsWith('/v1/conversations/')
        ? conversation.id
        : path.startsWith('/v1/users/')
          ? user
          : 'msg_none'
    let tried = 0
    for (const o of operations(doc)) {
      const media = o.op.requestBody?.content['application/json']
      if (!media) continue
      assert.ok(media.example !== undefined, `${o.method} ${o.path} has an example body`)
      const res = await t.inject({
        method: o.method as 'POST',
        url: urlFor(o.path, idFor(o.path)),
        headers: { ...t.auth(), 'content-type': 'application/json' },
        payload: JSON.stringify(media.example),
      })
      assert.ok(res.statusCode >= 200 && res.statusCode < 300, `${o.path}: ${res.body}`)
      tried++
    }
    assert.ok(tried >= 3, `tried ${tried} examples`)
  })

  test('idempotency is generic: cancel replays its first answer for the same key', async () => {
    const sent = await t.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: t.auth(),
      payload: {
        to: '+14155550100',
        body: 'later',
        sendAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
    })
    const id = sent.json<{ id: string }>().id
    const cancel = () =>
      t.inject({
        method: 'POST',
        url: `/v1/messages/${id}/cancel`,
        headers: { ...t.auth(), 'idempotency-key': `cancel-${id}` },
      })
    const first = await cancel()
    assert.equal(first.statusCode, 200)
    assert.equal(first.headers['idempotent-replayed'], undefined)
    const again = await cancel()
    assert.equal(again.statusCode, 200, 'a plain second cancel would be 409 not_cancelable')
    assert.equal(again.headers['idempotent-replayed'], 'true')
    assert.equal(again.body, first.body)
    const plain = await t.inject({
      method: 'POST',
      url: `/v1/messages/${id}/cancel`,
      headers: t.auth(),
    })
    assert.equal(plain.statusCode, 409)
  })
})

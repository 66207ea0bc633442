import assert from 'node:assert/strict'
import { test } from 'node:test'
import Fastify from 'fastify'
import type { AppContext } from './context.js'
import { registerAccessControl } from './access.js'

test('a route under /v1 that declares no scope fails at boot instead of being public', async () => {
  const app = Fastify()
  registerAccessControl(app, {} as AppContext)
  await assert.rejects(async () => {
    await app.register(
      async (v1) => {
        v1.get('/things', async () => ({ ok: true }))
      },
      { prefix: '/v1' },
    )
    await app.ready()
  }, /GET \/v1\/things declares no scope/)
})

test('routes outside /v1 may be public', async () => {
  const app = Fastify()
  registerAccessControl(app, {} as AppContext)
  app.get('/healthz', async () => ({ ok: true }))
  await app.ready()
  assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200)
})

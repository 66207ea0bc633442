// Risk: a server started without a built dashboard answers its pages with a bare 404 (or
// crashes) instead of saying what to do, or takes the API's own paths for dashboard pages.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import Fastify from 'fastify'
import { registerDashboard } from './dashboard.js'
import { sendError } from './error-handler.js'

async function appWith(files: Parameters<typeof registerDashboard>[1]) {
  const app = Fastify()
  app.setErrorHandler(sendError)
  const page = registerDashboard(app, files)
  app.setNotFoundHandler((req, reply) => {
    if (page(req, reply)) return
    void reply.code(404).send({ error: { code: 'route_not_found' } })
  })
  await app.ready()
  return app
}

test('without a build, pages answer 503 dashboard_not_built; API paths keep their 404', async () => {
  const app = await appWith(new Map())
  for (const url of ['/', '/messages/msg_1']) {
    const res = await app.inject({ url, headers: { accept: 'text/html' } })
    assert.equal(res.statusCode, 503, url)
    assert.equal(res.json<{ error: { code: string } }>().error.code, 'dashboard_not_built')
  }
  for (const url of ['/v1/nothing', '/auth/nothing', '/webhooks/x/y', '/docs/x']) {
    const res = await app.inject({ url, headers: { accept: 'text/html' } })
    assert.equal(res.statusCode, 404, url)
  }
  // Not a browser asking for a page (no text/html): the plain 404.
  assert.equal((await app.inject({ url: '/messages' })).statusCode, 404)
  await app.close()
})

test('a built dashboard: pages get index.html; gzip only when the client accepts it', async () => {
  const body = Buffer.from('<!doctype html><div id="root"></div>' + ' '.repeat(600))
  const index = {
    body,
    gzip: null,
    type: 'text/html; charset=utf-8',
    etag: '"x"',
    cacheControl: 'no-cache',
  }
  const app = await appWith(new Map([['/index.html', index]]))
  const res = await app.inject({ url: '/conversations/conv_1', headers: { accept: 'text/html' } })
  assert.equal(res.statusCode, 200)
  assert.equal(res.headers['cache-control'], 'no-cache')
  assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/)
  assert.equal(res.headers['content-encoding'], undefined)
  await app.close()
})

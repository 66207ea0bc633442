import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Route } from '../domain/routing/route.js'
import { isKeywordReply, routePool } from './keywords.js'

const route = (...senders: string[]): Route => ({
  providers: ['simulator'],
  senders: senders.map((from) => ({ from })),
  failoverOnTimeout: false,
})

test('a route pool: every sender of every route holding the number, the number first', () => {
  const routes = [
    route('+15005550006', '+15005550007'),
    route('+15005550008'),
    route('+15005550007', '72345'),
  ]
  assert.deepEqual(routePool(routes, '+15005550007'), ['+15005550007', '+15005550006', '72345'])
  assert.deepEqual(routePool(routes, '+15005550008'), ['+15005550008'])
  assert.deepEqual(routePool(routes, '+15005550099'), ['+15005550099'])
  assert.deepEqual(routePool([], '+15005550099'), ['+15005550099'])
})

test('only a reply Switchboard queued itself counts as a keyword reply: an API caller cannot forge the mark', () => {
  const metadata = JSON.stringify({ keywordReply: { kind: 'opt_out', inReplyTo: 'msg_1' } })
  const own = { api_key_id: null, direction: 'outbound' as const, metadata }
  assert.equal(isKeywordReply(own), true)
  assert.equal(isKeywordReply({ ...own, api_key_id: 'key_1' }), false)
  assert.equal(isKeywordReply({ ...own, direction: 'inbound' }), false)
  assert.equal(isKeywordReply({ ...own, metadata: null }), false)
  assert.equal(isKeywordReply({ ...own, metadata: '{"keywordReply": true}' }), false)
  assert.equal(isKeywordReply({ ...own, metadata: '{"other": 1}' }), false)
  assert.equal(isKeywordReply({ ...own, metadata: 'not json' }), false)
})

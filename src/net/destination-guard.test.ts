import assert from 'node:assert/strict'
import { test } from 'node:test'
import { request } from 'undici'
import type { buildConnector } from 'undici'
import {
  checkedAddress,
  createGuardedDispatcher,
  DestinationDnsError,
  DestinationNotAllowedError,
  type Resolver,
} from './destination-guard.js'

/** A resolver that answers from a table, one answer list per call, and counts its calls. */
function scripted(answers: Record<string, string[][]>) {
  const calls: string[] = []
  const resolve: Resolver = async (host) => {
    calls.push(host)
    const next = answers[host]?.shift()
    if (!next)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
    return next.map((address) => ({ address }))
  }
  return { resolve, calls }
}

test('localhost names and literal addresses are judged without DNS', async () => {
  const { resolve, calls } = scripted({})
  for (const host of ['localhost', 'localhost.', 'api.localhost', '127.0.0.1', '::1', '[::1]']) {
    await assert.rejects(checkedAddress(host, resolve), DestinationNotAllowedError, host)
  }
  assert.equal(await checkedAddress('8.8.8.8', resolve), '8.8.8.8')
  assert.deepEqual(calls, [])
})

test('a name is refused if any of its addresses is internal, and a failed lookup is a DNS error', async () => {
  const { resolve } = scripted({
    'a.example.com': [['93.184.215.14', '2606:2800:21f:cb07::1']],
    'b.example.com': [['93.184.215.14', '192.168.0.10']],
    'c.example.com': [[]],
  })
  assert.equal(await checkedAddress('a.example.com', resolve), '93.184.215.14')
  await assert.rejects(checkedAddress('b.example.com', resolve), DestinationNotAllowedError)
  await assert.rejects(checkedAddress('c.example.com', resolve), DestinationDnsError)
  const err = await checkedAddress('d.example.com', resolve).catch((e: unknown) => e)
  assert.ok(err instanceof DestinationDnsError)
  assert.equal((err.cause as { code?: string }).code, 'ENOTFOUND')
})

test('every connection is checked: the socket opens to the address just checked, never a re-resolved one', async () => {
  // The name answers a public address first and an internal one next (DNS rebinding).
  const { resolve, calls } = scripted({
    'hooks.example.com': [['93.184.215.14'], ['10.0.0.5']],
  })
  const opened: buildConnector.Options[] = []
  const dispatcher = createGuardedDispatcher({
    resolve,
    connector: (opts, cb) => {
      opened.push(opts)
      cb(Object.assign(new Error('tests never connect'), { code: 'ECONNREFUSED' }), null)
    },
  })
  try {
    const first: unknown = await request('https://hooks.example.com/cb', { dispatcher }).catch(
      (e: unknown) => e,
    )
    assert.equal((first as { code?: string }).code, 'ECONNREFUSED')
    assert.equal(opened.length, 1)
    // The connector is handed the checked address; TLS still names the host (SNI, certificate).
    assert.equal(opened[0]?.hostname, '93.184.215.14')
    assert.equal(opened[0]?.host, 'hooks.example.com')
    const second = await request('https://hooks.example.com/cb', { dispatcher }).catch(
      (e: unknown) => e,
    )
    assert.ok(second instanceof DestinationNotAllowedError)
    assert.equal(second.reason, 'private')
    assert.equal(opened.length, 1, 'the internal answer was never connected to')
    assert.deepEqual(calls, ['hooks.example.com', 'hooks.example.com'])
  } finally {
    await dispatcher.close()
  }
})

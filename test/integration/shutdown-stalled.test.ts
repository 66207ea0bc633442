// Risk: one client that never finishes its request (or stops reading its answer) keeps the
// server from ever stopping: SIGTERM logs "shutting down" and the process hangs until killed.
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { test } from 'node:test'
import { startTestSwitchboard } from '../support/harness.js'

test(
  'a stalled request is cut at SHUTDOWN_TIMEOUT_MS and the server stops',
  { timeout: 20_000 },
  async () => {
    const t = await startTestSwitchboard(
      { PORT: '0', HOST: '127.0.0.1', SHUTDOWN_TIMEOUT_MS: '500' },
      { start: { listen: true } },
    )
    const url = new URL(t.sb.url!)
    const socket = connect(Number(url.port), url.hostname)
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    socket.on('error', () => undefined)
    // Authenticated, so the server waits for the body; only part of it ever comes.
    socket.write(
      `POST /v1/messages HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${t.keys.admin}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"to":',
    )
    await new Promise((r) => setTimeout(r, 200))
    const started = Date.now()
    await t.close()
    const took = Date.now() - started
    await closed
    assert.ok(took >= 400, `the stalled request was given its time (${took} ms)`)
    assert.ok(took < 10_000, `stopped ${took} ms after the signal`)
  },
)

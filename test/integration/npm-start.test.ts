// Risk covered: a process manager or a terminal stopping `npm start` (the README's way to run
// Switchboard) leaves the server running as an orphan that holds the port, or kills it
// without the graceful drain; `npm start` serves no dashboard.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { describe, test } from 'node:test'
import { request } from 'undici'
import { freshDatabase } from '../support/harness.js'
import { childEnv, freePort, ROOT } from '../support/processes.js'

/** `npm start` builds first; a first build on a busy machine takes a while. */
const START_TIMEOUT_MS = 120_000
/** From the signal to npm's exit; nothing is in flight, so the drain is quick. */
const STOP_BOUND_MS = 15_000

const groups = new Set<number>()
// Last resort if the test process exits without running its finally blocks.
process.once('exit', () => {
  for (const pgid of groups) killGroup(pgid)
})

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL')
  } catch {
    // already gone
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

async function portFree(port: number): Promise<boolean> {
  const server = createServer()
  return new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

async function waitHealthy(url: string, exited: () => boolean, output: () => string) {
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`npm start exited before answering:\n${output()}`)
    try {
      const res = await request(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })
      await res.body.dump()
      if (res.statusCode === 200) return
    } catch {
      // building, or not listening yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`npm start did not answer /healthz in ${START_TIMEOUT_MS} ms:\n${output()}`)
}

/** `npm start` built the dashboard too: `/` answers the app and its hashed script. */
async function assertServesDashboard(url: string) {
  const page = await request(`${url}/`, { headers: { accept: 'text/html' } })
  assert.equal(page.statusCode, 200)
  const html = await page.body.text()
  const script = /<script[^>]+src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1]
  assert.ok(script, `the dashboard's index.html names its script:\n${html}`)
  const js = await request(`${url}${script}`)
  await js.body.dump()
  assert.equal(js.statusCode, 200)
  assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable')
}

const cases = [
  // docker stop, systemd with KillMode=process, a supervisor: the signal goes to npm alone.
  { name: 'SIGTERM to npm (a process manager)', signal: 'SIGTERM', target: 'npm' },
  // Ctrl-C: the terminal signals the whole foreground group, and npm forwards it once more.
  { name: 'SIGINT to the process group (Ctrl-C)', signal: 'SIGINT', target: 'group' },
] as const

describe('npm start', () => {
  for (const c of cases) {
    test(`${c.name} stops the server gracefully and releases the port`, async () => {
      const db = await freshDatabase()
      const port = await freePort()
      const url = `http://127.0.0.1:${port}`
      const npm = spawn('npm', ['start'], {
        cwd: ROOT,
        // The dashboard check leaves a large answer half read (undici's dump stops at 128 KB):
        // a stalled client, cut at SHUTDOWN_TIMEOUT_MS.
        env: childEnv({
          ...db.env,
          PORT: String(port),
          LOG_LEVEL: 'info',
          SHUTDOWN_TIMEOUT_MS: '3000',
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, as under a terminal or a supervisor, so the test can signal
        // and always kill everything npm started.
        detached: true,
      })
      const pgid = npm.pid
      assert.ok(pgid)
      groups.add(pgid)
      let output = ''
      const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-20_000))
      npm.stdout.on('data', keep)
      npm.stderr.on('data', keep)
      const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        npm.once('exit', (code, signal) => resolve({ code, signal })),
      )
      try {
        await waitHealthy(
          url,
          () => npm.exitCode !== null || npm.signalCode !== null,
          () => output,
        )
        if (c.target === 'npm') await assertServesDashboard(url)
        const signalledAt = Date.now()
        process.kill(c.target === 'npm' ? pgid : -pgid, c.signal)
        const bound = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_BOUND_MS))
        const result = await Promise.race([exit, bound])
        assert.notEqual(result, 'timeout', `npm did not exit within ${STOP_BOUND_MS} ms`)
        assert.deepEqual(result, { code: 0, signal: null }, output)
        assert.ok(Date.now() - signalledAt < STOP_BOUND_MS)
        // npm waits for the server, so once npm is gone nothing of the group is left.
        await new Promise((r) => setTimeout(r, 100))
        assert.equal(groupAlive(pgid), false, 'a process npm started is still running')
        assert.equal(await portFree(port), true, 'the port is still held')
        assert.match(output, new RegExp(`"signal":"${c.signal}","msg":"shutting down"`))
        assert.match(output, /"msg":"switchboard stopped"/)
      } finally {
        killGroup(pgid)
        groups.delete(pgid)
        await db.drop()
      }
    })
  }
})

// Switchboard as real child processes (`switchboard start --role ...`) for crash and
// multi-process tests: spawn, wait for readiness, kill, and always clean up.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { Agent, request } from 'undici'
import { loadConfig } from '../../src/config.js'
import { createApiKey } from '../../src/usecases/api-keys.js'
import { openDb, type Db } from '../../src/store/db.js'
import { createFanout } from '../../src/domain/webhooks/fanout.js'
import { Store } from '../../src/store/store.js'
import { CONFIG_KEYS } from '../../src/config-keys.js'
import { PG_URL } from './harness.js'

/** The repository root: children run `src/cli/run.ts` from here. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Opens the test database (as the child sees it) for direct reads, then closes it. */
export async function withDb<T>(dbEnv: Record<string, string>, fn: (db: Db) => Promise<T>) {
  const db = openDb(loadConfig({ LOG_LEVEL: 'silent', ...dbEnv }).database)
  try {
    return await fn(db)
  } finally {
    await db.close()
  }
}

/** Migrates the database and creates an admin key, so children need not print one. */
export async function createAdminKey(dbEnv: Record<string, string>): Promise<string> {
  return withDb(dbEnv, async (db) => {
    await db.migrate()
    const store = new Store(db, createFanout({ endpoints: [] }))
    return (await createApiKey({ store, now: Date.now }, 'test admin', ['admin'])).key
  })
}

export interface SwitchboardProcess {
  readonly name: string
  readonly proc: ChildProcess
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>
  /** Last output, for failure messages. */
  output(): string
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>
  /** SIGTERM (graceful stop); SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

/** Environment variables src/config.ts reads (the one list), and families of them. */
const CONFIG_PREFIX = /^(SIMULATOR_|WORKER_|DATABASE_|WEBHOOK_|SWITCHBOARD_|SQLITE_)/
const CONFIG_KEY_SET: ReadonlySet<string> = new Set(CONFIG_KEYS)

/**
 * The environment for a child Switchboard: only the test's own settings configure it, never
 * the developer's shell; and the test runner's marker for its children is dropped (a
 * Switchboard child is not a test file).
 */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !CONFIG_PREFIX.test(k) && !CONFIG_KEY_SET.has(k) && k !== 'NODE_TEST_CONTEXT',
    ),
  )
  return { ...base, ...env }
}

const live = new Set<ChildProcess>()
// Last resort if the test process itself exits without running its hooks.
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL')
})

/** Starts `switchboard start --role <role>` with `env` on top of the test's environment. */
export function spawnSwitchboard(
  name: string,
  role: 'api' | 'worker' | 'all',
  env: Record<string, string>,
): SwitchboardProcess {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/run.ts', 'start', '--role', role],
    { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] },
  )
  live.add(proc)
  let tail = ''
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-8000)
  }
  proc.stdout?.on('data', keep)
  proc.stderr?.on('data', keep)
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      live.delete(proc)
      resolve(code ?? signal ?? 'unknown')
    })
  })
  const alive = () => proc.exitCode === null && proc.signalCode === null
  return {
    name,
    proc,
    exited,
    output: () => tail,
    async kill() {
      if (alive()) proc.kill('SIGKILL')
      await exited
    },
    async stop(graceMs = 10_000) {
      if (!alive()) return
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Polls `GET /readyz` until 200; fails early if the process exits. */
export async function waitReady(
  child: SwitchboardProcess,
  baseUrl: string,
  timeoutMs = 30_000,
): Promise<void> {
  let exited = false
  void child.exited.then(() => (exited = true))
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${child.name} exited before ready:\n${child.output()}`)
    try {
      const res = await request(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(1000) })
      await res.body.dump()
      if (res.statusCode === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${child.name} not ready after ${timeoutMs} ms:\n${child.output()}`)
}

/** Waits until `child` logs `text` (workers have no HTTP port to poll). */
export async function waitOutput(
  child: SwitchboardProcess,
  text: string | RegExp,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exited = false
  void child.exited.then(() => (exited = true))
  const seen = () =>
    typeof text === 'string' ? child.output().includes(text) : text.test(child.output())
  while (!seen()) {
    if (exited) throw new Error(`${child.name} exited:\n${child.output()}`)
    if (Date.now() > deadline) throw new Error(`${child.name} did not log ${String(text)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A small JSON client for the Switchboard API. */
export function apiClient(baseUrl: string, apiKey: string, connections = 16) {
  const agent = new Agent({ connections, keepAliveTimeout: 5_000 })
  return {
    async post(
      path: string,
      body: unknown,
      timeoutMs = 30_000,
    ): Promise<{ status: number; body: unknown }> {
      const res = await request(`${baseUrl}${path}`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      })
      const text = await res.body.text()
      return {
        status: res.statusCode,
        body: text === '' ? undefined : (JSON.parse(text) as unknown),
      }
    },
    close: () => agent.close(),
  }
}

/**
 * Worker processes (spawned with `PGAPPNAME` set to their name) have opened their PostgreSQL
 * connections: they boot in parallel, and a test starts its load once all of them take part.
 */
export async function waitWorkersConnected(workers: SwitchboardProcess[]): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    const deadline = Date.now() + 30_000
    for (;;) {
      const res = await client.query<{ application_name: string }>(
        'SELECT DISTINCT application_name FROM pg_stat_activity WHERE application_name = ANY($1)',
        [workers.map((w) => w.name)],
      )
      if (res.rows.length === workers.length) return
      if (Date.now() > deadline) {
        throw new Error(`workers not connected:\n${workers.map((w) => w.output()).join('\n')}`)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  } finally {
    await client.end()
  }
}

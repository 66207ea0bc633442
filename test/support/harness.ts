import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import pino from 'pino'
import { loadConfig, type Config } from '../../src/config.js'
import { startSwitchboard, type Role, type StartOptions, type Switchboard } from '../../src/main.js'
import { createApiKey } from '../../src/usecases/api-keys.js'
import { createFanout } from '../../src/domain/webhooks/fanout.js'
import { openDb, type Db } from '../../src/store/db.js'
import { Store } from '../../src/store/store.js'

/** PostgreSQL used by the integration suite (trust auth on these machines). */
export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test'

export type TestDb = 'sqlite' | 'postgres'
export const TEST_DB: TestDb = process.env.TEST_DB === 'postgres' ? 'postgres' : 'sqlite'

/** A fresh database for one test file: a temp SQLite file or a new PostgreSQL schema. */
export async function freshDatabase(db: TestDb = TEST_DB): Promise<{
  env: Record<string, string>
  drop: () => Promise<void>
}> {
  if (db === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-test-'))
    return {
      env: { DATABASE_URL: `sqlite:${join(dir, 'test.db')}` },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    }
  }
  const schema = `t_${randomBytes(6).toString('hex')}`
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  await client.query(`CREATE SCHEMA ${schema}`)
  await client.end()
  return {
    env: { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema },
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_URL })
      await c.connect()
      await c.query(`DROP SCHEMA ${schema} CASCADE`)
      await c.end()
    },
  }
}

export interface TestSwitchboard {
  sb: Switchboard
  config: Config
  /** An admin key and a key per single scope. */
  keys: { admin: string; write: string; read: string }
  inject: NonNullable<Switchboard['app']>['inject']
  auth: (key?: string) => { authorization: string }
  close: () => Promise<void>
}

/**
 * Starts Switchboard in-process on a fresh database with the simulator and a silent
 * logger. `env` overrides configuration exactly as environment variables would.
 */
export async function startTestSwitchboard(
  env: Record<string, string> = {},
  opts: {
    role?: Role
    db?: TestDb
    /** Start on this database (a restart); the caller drops it. Default: a fresh one. */
    database?: Awaited<ReturnType<typeof freshDatabase>>
    /** The server's clock (needs WORKER_THREAD=false): tests move it instead of waiting. */
    now?: () => number
    /** More start options (a logger, Verify's random source), over the harness's own. */
    start?: Partial<StartOptions>
  } = {},
): Promise<TestSwitchboard> {
  const database = opts.database ?? (await freshDatabase(opts.db))
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    SIMULATOR_DLR_DELAY_MS: '5',
    WORKER_POLL_MS: '20',
    RETRY_BASE_MS: '20',
    RETRY_MAX_MS: '200',
    // Marketing messages go at any hour, so a suite's outcome does not depend on the time of
    // day it runs; quiet-hours suites set their own windows and clock.
    QUIET_HOURS: '{"default":{"start":"00:00","end":"24:00"}}',
    // The background thread is on, as users run it. A suite that reaches into the in-process
    // simulator or the send worker sets WORKER_THREAD=false.
    ...database.env,
    ...env,
  })
  const sb = await startSwitchboard(config, {
    role: opts.role ?? 'all',
    listen: false,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    ...(opts.now ? { now: opts.now } : {}),
    ...opts.start,
  })
  const now = Date.now
  const keys = {
    admin: (await createApiKey({ store: sb.store, now }, 'test admin', ['admin'])).key,
    write: (await createApiKey({ store: sb.store, now }, 'test write', ['messages:write'])).key,
    read: (await createApiKey({ store: sb.store, now }, 'test read', ['messages:read'])).key,
  }
  const app = sb.app
  if (!app) throw new Error('the test harness needs the api role')
  return {
    sb,
    config,
    keys,
    inject: app.inject.bind(app),
    auth: (key = keys.admin) => ({ authorization: `Bearer ${key}` }),
    close: async () => {
      await sb.stop()
      if (!opts.database) await database.drop()
    },
  }
}

/**
 * A migrated store on a fresh database, for repository and worker tests that run no server.
 * `close` closes it and drops the database.
 */
export async function openTestStore(): Promise<{ store: Store; close: () => Promise<void> }> {
  const database = await freshDatabase()
  const opened = openDb(loadConfig(database.env).database)
  await opened.migrate()
  const store = new Store(opened, createFanout({ endpoints: [] }))
  return {
    store,
    close: async () => {
      await store.close()
      await database.drop()
    },
  }
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Messages per status, straight from the database (a running server's or a fresh connection). */
export async function statusCounts(db: Db | TestSwitchboard): Promise<Record<string, number>> {
  const kysely = 'kysely' in db ? db.kysely : db.sb.store.db.kysely
  const rows = await kysely
    .selectFrom('messages')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .execute()
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]))
}

/**
 * Records an opt-in to marketing for `phones` in the consent ledger (source `import`): marketing
 * messages need one (docs/compliance.md).
 */
export async function optInToMarketing(t: TestSwitchboard, ...phones: string[]): Promise<void> {
  const at = Date.now()
  await t.sb.store.tx(() =>
    t.sb.store.consents.record(
      phones.map((phone) => ({
        phone,
        action: 'opt_in',
        scope: 'marketing',
        source: 'import',
        at,
      })),
    ),
  )
}

import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Sqlite from 'better-sqlite3'
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type MigrationProvider } from 'kysely'
import pg from 'pg'
import type { Config } from '../config.js'
import { PgExecutor, SqliteExecutor, type Executor } from './executor.js'
import { migrations } from './migrations.js'
import type { WriteLock } from './write-lock.js'
import type { Database } from './schema.js'

/** An open database: the transaction executor for hot paths and Kysely for everything else. */
export interface Db {
  readonly dialect: 'sqlite' | 'postgres'
  readonly exec: Executor
  readonly kysely: Kysely<Database>
  migrate(): Promise<string[]>
  close(): Promise<void>
}

// Times and counters are BIGINT; every value we store fits in a double.
const bigintAsNumber = ((oid: number, format?: 'text' | 'binary'): unknown =>
  oid === 20
    ? Number
    : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(
        oid,
        format,
      )) as typeof pg.types.getTypeParser

/** `writeLock`: shared with the other threads of this process that open the same SQLite file. */
export function openDb(config: Config['database'], writeLock?: WriteLock): Db {
  if (config.kind === 'sqlite') {
    if (config.path !== ':memory:') mkdirSync(dirname(config.path), { recursive: true })
    const sqlite = new Sqlite(config.path)
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma(`synchronous = ${config.synchronous}`)
    sqlite.pragma('busy_timeout = 5000')
    sqlite.pragma('cache_size = -16384')
    sqlite.pragma('temp_store = MEMORY')
    // Deleted content is overwritten with zeros, so a GDPR erasure leaves no byte of a number
    // or a body in the file (docs/compliance.md, with its measured cost).
    sqlite.pragma('secure_delete = ON')
    // Checkpoint every 8,192 WAL pages (32 MiB at 4 KiB) instead of SQLite's 1,000, so index
    // pages rewritten by many small commits (single-message intake) are copied back and synced
    // once per checkpoint rather than every few commits: ~30 % less SQLite time per message in
    // 25-message commits (BENCHMARKS.md). The WAL file is cut back to 64 MiB after a
    // checkpoint if a long reader let it grow.
    sqlite.pragma('wal_autocheckpoint = 8192')
    sqlite.pragma('journal_size_limit = 67108864')
    // Kysely shares the connection for single statements only: better-sqlite3 runs each
    // synchronously, so none can land inside a transaction run by the executor.
    const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
    const exec = new SqliteExecutor(sqlite, writeLock)
    return build('sqlite', exec, kysely, undefined, async () => {
      await kysely.destroy().catch(() => undefined)
      await exec.close()
    })
  }
  const pool = new pg.Pool({
    connectionString: config.url,
    max: 10,
    options: config.schema ? `-c search_path=${config.schema}` : undefined,
    types: { getTypeParser: bigintAsNumber },
  })
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  const exec = new PgExecutor(pool)
  return build('postgres', exec, kysely, config.schema ?? 'public', async () => {
    // Kysely's destroy ends the shared pool.
    await kysely.destroy()
  })
}

function build(
  dialect: Db['dialect'],
  exec: Executor,
  kysely: Kysely<Database>,
  schema: string | undefined,
  close: () => Promise<void>,
): Db {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) }
  return {
    dialect,
    exec,
    kysely,
    async migrate() {
      // Kysely's migrator takes an advisory lock on PostgreSQL, so processes booting
      // together in cluster mode run each migration once.
      if (schema !== undefined) {
        await exec.query({
          sql: `CREATE SCHEMA IF NOT EXISTS "${schema}"`,
          params: [],
          mode: 'run',
        })
      }
      // Name the schema: Kysely otherwise finds its tables in any schema of the database.
      const migrator = new Migrator({
        db: kysely,
        provider,
        ...(schema === undefined ? {} : { migrationTableSchema: schema }),
      })
      const { error, results } = await migrator.migrateToLatest()
      if (error) throw error instanceof Error ? error : new Error('migration failed')
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
    },
    close,
  }
}

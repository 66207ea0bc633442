// Risk: upgrading a database keeps raw connection errors (addresses and ports tried) in the
// webhook attempt log, or leaves pending deliveries that the per-destination claim never sees.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Migrator, type Kysely } from 'kysely'
import { loadConfig } from '../../src/config.js'
import { openDb, type Db } from '../../src/store/db.js'
import { migrations } from '../../src/store/migrations.js'
import { freshDatabase } from '../support/harness.js'

describe('migration 0002 on a database with webhook history', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>
  let db: Db

  before(async () => {
    database = await freshDatabase()
    const config = loadConfig(database.env).database
    db = openDb(config)
  })
  after(async () => {
    await db.close()
    await database.drop()
  })

  test('old attempt errors become reasons; pending deliveries get their destination', async () => {
    const schema = database.env.DATABASE_SCHEMA
    const migrator = new Migrator({
      db: db.kysely,
      provider: { getMigrations: async () => migrations(db.dialect) },
      ...(schema === undefined ? {} : { migrationTableSchema: schema }),
    })
    const first = await migrator.migrateTo('0001_initial')
    assert.equal(first.error, undefined)
    const raw = [
      'Error: connect ECONNREFUSED 127.0.0.1:3999',
      'Error: getaddrinfo ENOTFOUND hooks.internal',
      'TimeoutError: The operation was aborted due to timeout',
      'SocketError: other side closed',
      'Error: self-signed certificate',
      'no signing secret for this endpoint',
      'Error: something at 10.0.0.7:22',
    ]
    const reasons = [
      'connection_refused',
      'dns_error',
      'timeout',
      'connection_reset',
      'tls_error',
      'no_signing_secret',
      'request_failed',
    ]
    const k = db.kysely as unknown as Kysely<Record<string, Record<string, unknown>>>
    for (const [i, error] of raw.entries()) {
      await k
        .insertInto('webhook_deliveries')
        .values({
          id: `whd_${i}`,
          message_id: 'msg_1',
          endpoint_id: null,
          url: `https://hooks.example.com/${i}`,
          event_type: 'message.sent',
          payload: '{}',
          status: i === 0 ? 'failed' : 'pending',
          attempts: 1,
          next_attempt_at: i === 0 ? null : 1,
          last_status_code: null,
          last_error: error,
          created_at: 1,
          updated_at: 1,
        })
        .execute()
      await k
        .insertInto('webhook_attempts')
        .values({ delivery_id: `whd_${i}`, attempt: 1, at: 1, duration_ms: 3, error })
        .execute()
    }
    await db.migrate()
    const attempts = await k
      .selectFrom('webhook_attempts')
      .select(['delivery_id', 'error'])
      .orderBy('delivery_id')
      .execute()
    assert.deepEqual(
      attempts.map((a) => a.error),
      reasons,
    )
    const deliveries = await k
      .selectFrom('webhook_deliveries')
      .select(['id', 'last_error', 'destination', 'url'])
      .orderBy('id')
      .execute()
    assert.deepEqual(
      deliveries.map((d) => d.last_error),
      reasons,
    )
    for (const d of deliveries) {
      // Finished deliveries are never claimed again; pending ones are counted by their URL.
      assert.equal(d.destination, d.id === 'whd_0' ? '' : d.url)
    }
  })
})

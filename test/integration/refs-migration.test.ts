// Risk: after upgrading, the delivery reports of messages sent before the upgrade match
// nothing (reports now match on provider_refs), or an inbound SMS stored before it is stored
// again when its webhook is replayed.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Migrator, type Kysely } from 'kysely'
import pino from 'pino'
import { loadConfig } from '../../src/config.js'
import { createFanout } from '../../src/domain/webhooks/fanout.js'
import { ReportIngestor } from '../../src/queue/report.ingestor.js'
import { openDb, type Db } from '../../src/store/db.js'
import { migrations } from '../../src/store/migrations.js'
import { Store } from '../../src/store/store.js'
import { freshDatabase, TEST_DB } from '../support/harness.js'

const NOW = 1_800_000_000_000

describe(`migration 0003 on a database with sent and received messages (${TEST_DB})`, () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>
  let db: Db

  before(async () => {
    database = await freshDatabase()
    db = openDb(loadConfig(database.env).database)
  })
  after(async () => {
    await db.close()
    await database.drop()
  })

  test('provider ids recorded before become references: reports match them, replays find them', async () => {
    const schema = database.env.DATABASE_SCHEMA
    const migrator = new Migrator({
      db: db.kysely,
      provider: { getMigrations: async () => migrations(db.dialect) },
      ...(schema === undefined ? {} : { migrationTableSchema: schema }),
    })
    assert.equal(
      (await migrator.migrateTo('0002_webhook_sequence_and_destination')).error,
      undefined,
    )
    const k = db.kysely as unknown as Kysely<Record<string, Record<string, unknown>>>
    const row = (id: string, o: Record<string, unknown>) => ({
      id,
      api_key_id: null,
      direction: 'outbound',
      to_number: '+14155550100',
      from_number: null,
      body: 'before the upgrade',
      type: 'transactional',
      encoding: 'GSM-7',
      segments: 1,
      smart_encoding: 0,
      status: 'sent',
      provider: 'twilio',
      provider_message_id: null,
      validity_period: 3600,
      valid_until: NOW + 3_600_000,
      attempts: 1,
      created_at: NOW,
      updated_at: NOW,
      sent_at: NOW,
      event_seq: 3,
      ...o,
    })
    await k
      .insertInto('messages')
      .values([
        row('msg_sent', { provider_message_id: 'SM-sent' }),
        row('msg_done', { provider_message_id: 'SM-done', status: 'delivered', completed_at: NOW }),
        row('msg_queued', { status: 'queued', provider: null, attempts: 0, sent_at: null }),
        // The same inbound SMS stored twice before replays were recognised: both stay.
        ...['msg_in1', 'msg_in2'].map((id) =>
          row(id, {
            direction: 'inbound',
            status: 'received',
            from_number: '+14155550777',
            provider_message_id: 'SM-in',
            attempts: 0,
            sent_at: null,
          }),
        ),
      ])
      .execute()

    await db.migrate()
    const refs = await k
      .selectFrom('provider_refs')
      .select(['provider_message_id', 'message_id', 'attempt', 'part', 'parts', 'status'])
      .orderBy('provider_message_id')
      .execute()
    assert.deepEqual(refs, [
      {
        provider_message_id: 'SM-done',
        message_id: 'msg_done',
        attempt: 1,
        part: 1,
        parts: 1,
        status: 'delivered',
      },
      {
        provider_message_id: 'SM-in',
        message_id: 'msg_in1',
        attempt: 0,
        part: 1,
        parts: 1,
        status: 'received',
      },
      {
        provider_message_id: 'SM-sent',
        message_id: 'msg_sent',
        attempt: 1,
        part: 1,
        parts: 1,
        status: 'sent',
      },
    ])
    const moved = await k.selectFrom('messages').select(['id', 'sender', 'price']).execute()
    for (const m of moved) assert.deepEqual([m.sender, m.price], [null, null], String(m.id))

    const store = new Store(db, createFanout({ endpoints: [] }))
    const ingestor = new ReportIngestor(store, pino({ level: 'silent' }), () => NOW + 1000)
    await ingestor.ingest('twilio', [
      { type: 'status', providerMessageId: 'SM-sent', status: 'delivered', at: NOW + 500 },
      { type: 'status', providerMessageId: 'SM-done', status: 'undelivered', at: NOW + 500 },
      {
        type: 'inbound',
        providerMessageId: 'SM-in',
        from: '+14155550777',
        to: '+14155550100',
        body: 'replayed',
        at: NOW,
      },
    ])
    const status = async (id: string) => (await store.getMessage(id))?.status
    assert.equal(await status('msg_sent'), 'delivered')
    assert.equal(await status('msg_done'), 'delivered')
    const inbound = await k
      .selectFrom('messages')
      .select('id')
      .where('direction', '=', 'inbound')
      .execute()
    assert.equal(inbound.length, 2, 'the replay stored nothing new')
    assert.deepEqual(await k.selectFrom('jobs').select('id').execute(), [], 'nothing parked')
  })
})

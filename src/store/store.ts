import type { Selectable } from 'kysely'
import type { Db } from './db.js'
import type { TxProgram } from './executor.js'
import { AuditRepo } from './audit.repo.js'
import { ConsentRepo } from './consent.repo.js'
import { EventRepo } from './event.repo.js'
import { InboundRepo } from './inbound.repo.js'
import { JobRepo } from './job.repo.js'
import type { StatusChangeFanout } from '../domain/webhooks/fanout.js'
import { MessageRepo } from './message.repo.js'
import {
  MESSAGE_COLUMNS,
  type ApiKeyRow,
  type AttemptRow,
  type IdempotencyRow,
  type MessageEventRow,
  type MessageRow,
  type WebhookAttemptRow,
} from './schema.js'
import { PrivacyRepo } from './privacy.repo.js'
import { RoutingRepo } from './routing.repo.js'
import { WebhookRepo } from './webhook.repo.js'
import type { WebhookDeliveryRecord } from '../domain/webhooks/delivery.js'

export interface MessageFilter {
  status?: string | undefined
  to?: string | undefined
  from?: string | undefined
  type?: string | undefined
  direction?: string | undefined
  createdAfter?: number | undefined
  createdBefore?: number | undefined
  /** Exclusive: return messages older than this id (ids are time-ordered). */
  beforeId?: string | undefined
  limit: number
}

type EventView = Pick<MessageEventRow, 'status' | 'error_code' | 'detail' | 'at'>

/** The store: transaction programs for the hot paths, Kysely for simple reads and writes. */
export class Store {
  readonly messages: MessageRepo
  readonly webhooks: WebhookRepo
  readonly jobs: JobRepo
  readonly inbound: InboundRepo
  readonly routing: RoutingRepo
  readonly events: EventRepo
  readonly consents: ConsentRepo
  readonly privacy: PrivacyRepo
  readonly audit: AuditRepo

  constructor(
    readonly db: Db,
    fanout: StatusChangeFanout,
  ) {
    this.messages = new MessageRepo(db.dialect, fanout)
    this.webhooks = new WebhookRepo(db.dialect)
    this.jobs = new JobRepo(db.dialect)
    this.inbound = new InboundRepo(db.dialect)
    this.privacy = new PrivacyRepo(db.exec)
    this.routing = new RoutingRepo(db, this.privacy)
    this.events = new EventRepo(fanout)
    this.consents = new ConsentRepo(this.privacy)
    this.audit = new AuditRepo(db.kysely, this.privacy)
  }

  get dialect(): Db['dialect'] {
    return this.db.dialect
  }

  tx<T>(program: () => TxProgram<T>, immediate = false): Promise<T> {
    return this.db.exec.transaction(program, immediate)
  }

  async getMessage(id: string): Promise<MessageRow | undefined> {
    return this.db.kysely
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('id', '=', id)
      .executeTakeFirst()
  }

  async listMessages(f: MessageFilter): Promise<MessageRow[]> {
    // The record's columns only (the store's own bookkeeping, event_seq, stays in the store).
    let q = this.db.kysely.selectFrom('messages').select(MESSAGE_COLUMNS)
    if (f.status) q = q.where('status', '=', f.status as MessageRow['status'])
    if (f.to) q = q.where('to_number', '=', f.to)
    if (f.from) q = q.where('from_number', '=', f.from)
    if (f.type) q = q.where('type', '=', f.type as MessageRow['type'])
    if (f.direction) q = q.where('direction', '=', f.direction as MessageRow['direction'])
    if (f.createdAfter !== undefined) q = q.where('created_at', '>=', f.createdAfter)
    if (f.createdBefore !== undefined) q = q.where('created_at', '<', f.createdBefore)
    if (f.beforeId) q = q.where('id', '<', f.beforeId)
    return q.orderBy('id', 'desc').limit(f.limit).execute()
  }

  async listEvents(messageId: string): Promise<EventView[]> {
    return this.db.kysely
      .selectFrom('message_events')
      .select(['status', 'error_code', 'detail', 'at'])
      .where('message_id', '=', messageId)
      .orderBy('id', 'asc')
      .execute()
  }

  /** A message's send attempts, first first (one per try, with its provider and outcome). */
  async listSendAttempts(messageId: string): Promise<AttemptRow[]> {
    return this.db.kysely
      .selectFrom('attempts')
      .selectAll()
      .where('message_id', '=', messageId)
      .orderBy('attempt', 'asc')
      .execute()
  }

  async listDeliveries(messageId: string): Promise<WebhookDeliveryRecord[]> {
    return this.db.kysely
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('message_id', '=', messageId)
      .orderBy('id', 'asc')
      .execute()
  }

  async listAttempts(deliveryIds: readonly string[]): Promise<Selectable<WebhookAttemptRow>[]> {
    if (deliveryIds.length === 0) return []
    return this.db.kysely
      .selectFrom('webhook_attempts')
      .selectAll()
      .where('delivery_id', 'in', deliveryIds)
      .orderBy('id', 'asc')
      .execute()
  }

  async findIdempotency(apiKeyId: string, key: string): Promise<IdempotencyRow | undefined> {
    return this.db.kysely
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('api_key_id', '=', apiKeyId)
      .where('key', '=', key)
      .executeTakeFirst()
  }

  async saveIdempotency(row: IdempotencyRow): Promise<void> {
    await this.db.kysely
      .insertInto('idempotency_keys')
      .values(row)
      .onConflict((oc) => oc.doNothing())
      .execute()
  }

  async purgeIdempotency(now: number): Promise<number> {
    const res = await this.db.kysely
      .deleteFrom('idempotency_keys')
      .where('expires_at', '<', now)
      .executeTakeFirst()
    return Number(res.numDeletedRows)
  }

  async findKeyByHash(hash: string): Promise<ApiKeyRow | undefined> {
    return this.db.kysely
      .selectFrom('api_keys')
      .selectAll()
      .where('key_hash', '=', hash)
      .executeTakeFirst()
  }

  async getKey(id: string): Promise<ApiKeyRow | undefined> {
    return this.db.kysely.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst()
  }

  async listKeys(): Promise<ApiKeyRow[]> {
    return this.db.kysely.selectFrom('api_keys').selectAll().orderBy('created_at', 'asc').execute()
  }

  async countActiveKeys(): Promise<number> {
    const r = await this.db.kysely
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow()
    return Number(r.n)
  }

  async touchKey(id: string, now: number): Promise<void> {
    await this.db.kysely
      .updateTable('api_keys')
      .set({ last_used_at: now })
      .where('id', '=', id)
      .execute()
  }

  async getSetting(key: string): Promise<string | undefined> {
    const r = await this.db.kysely
      .selectFrom('settings')
      .select('value')
      .where('key', '=', key)
      .executeTakeFirst()
    return r?.value
  }

  /** Sets a setting once; returns the value that won when several processes race. */
  async initSetting(key: string, value: string): Promise<string> {
    await this.db.kysely
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.doNothing())
      .execute()
    return (await this.getSetting(key)) ?? value
  }

  /** Sets several settings in one transaction (a rotation writes three). */
  async setSettings(values: Record<string, string>): Promise<void> {
    await this.db.kysely.transaction().execute(async (trx) => {
      for (const [key, value] of Object.entries(values)) {
        await trx
          .insertInto('settings')
          .values({ key, value })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
          .execute()
      }
    })
  }

  async upsertEndpoint(row: {
    id: string
    url: string
    secret: string
    created_at: number
  }): Promise<void> {
    await this.db.kysely
      .insertInto('webhook_endpoints')
      .values({ ...row, enabled: 1 })
      .onConflict((oc) => oc.column('url').doUpdateSet({ secret: row.secret, enabled: 1 }))
      .execute()
  }

  /**
   * Configuration is the source of truth for endpoints: those whose URL is not in `urls` are
   * disabled, and their pending deliveries dropped with the reason `endpoint_removed`.
   * Returns how many endpoints and deliveries that affected.
   */
  async retireEndpointsExcept(
    urls: readonly string[],
    now: number,
  ): Promise<{ endpoints: number; deliveries: number }> {
    return this.db.kysely.transaction().execute(async (trx) => {
      let stale = trx.selectFrom('webhook_endpoints').select('id').where('enabled', '=', 1)
      if (urls.length > 0) stale = stale.where('url', 'not in', urls)
      const ids = (await stale.execute()).map((r) => r.id)
      if (ids.length === 0) return { endpoints: 0, deliveries: 0 }
      await trx
        .updateTable('webhook_endpoints')
        .set({ enabled: 0 })
        .where('id', 'in', ids)
        .execute()
      const dropped = await trx
        .updateTable('webhook_deliveries')
        .set({
          status: 'dropped',
          last_error: 'endpoint_removed',
          next_attempt_at: null,
          updated_at: now,
        })
        .where('status', '=', 'pending')
        .where('endpoint_id', 'in', ids)
        .executeTakeFirst()
      return { endpoints: ids.length, deliveries: Number(dropped.numUpdatedRows) }
    })
  }

  /** Every endpoint ever configured, enabled or retired (never their secrets). */
  async listAllEndpoints(): Promise<
    { id: string; url: string; enabled: number; created_at: number }[]
  > {
    return this.db.kysely
      .selectFrom('webhook_endpoints')
      .select(['id', 'url', 'enabled', 'created_at'])
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .execute()
  }

  async listEndpoints(): Promise<{ id: string; url: string; secret: string }[]> {
    return this.db.kysely
      .selectFrom('webhook_endpoints')
      .select(['id', 'url', 'secret'])
      .where('enabled', '=', 1)
      .execute()
  }

  /**
   * SQLite: copies the write-ahead log into the database file and truncates it to zero bytes,
   * so rows deleted (zeroed by `secure_delete`) leave no old copy in the log. Retried while
   * another connection's reader holds the log. PostgreSQL: nothing to do.
   */
  async checkpoint(): Promise<void> {
    if (this.db.dialect !== 'sqlite') return
    for (let i = 0; ; i++) {
      const [r] = await this.db.exec.query<{ busy: number }>({
        sql: 'PRAGMA wal_checkpoint(TRUNCATE)',
        params: [],
        mode: 'rows',
      })
      if (!r || r.busy === 0) return
      if (i >= 50) throw new Error('the write-ahead log could not be checkpointed')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  close(): Promise<void> {
    return this.db.close()
  }
}

import { UserRepo } from './user.repo.js'
import { VerifyRepo } from './verify.repo.js'
import { sql, type Selectable } from 'kysely'
import type { Db } from './db.js'
import type { TxProgram } from './executor.js'
import { AuditRepo } from './audit.repo.js'
import {
  ConsentRepo,
  type ConsentHistoryEntry,
  type ConsentState,
  type OptedOut,
} from './consent.repo.js'
import { ConversationRepo } from './conversation.repo.js'
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
  type ProviderRefRow,
  type WebhookAttemptRow,
} from './schema.js'
import { PrivacyRepo } from './privacy.repo.js'
import { RoutingRepo } from './routing.repo.js'
import { TemplateRepo } from './template.repo.js'
import { WebhookRepo } from './webhook.repo.js'
import type { WebhookDeliveryRecord } from '../domain/webhooks/delivery.js'

export interface MessageFilter {
  status?: string | undefined
  to?: string | undefined
  from?: string | undefined
  /** Sent to or received from this number: `to` or `from` equals it. */
  number?: string | undefined
  /** The provider instance it was sent through, or received from. */
  provider?: string | undefined
  type?: string | undefined
  direction?: string | undefined
  createdAfter?: number | undefined
  createdBefore?: number | undefined
  /** Exclusive: return messages older than this id (ids are time-ordered). */
  beforeId?: string | undefined
  limit: number
}

/** A row of the application event log, as the event stream reads it (`data` is JSON text). */
export interface LoggedEventRow {
  id: number
  type: string
  data: string
  at: number
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
  readonly conversations: ConversationRepo
  readonly privacy: PrivacyRepo
  readonly audit: AuditRepo
  readonly templates: TemplateRepo
  readonly verify: VerifyRepo
  readonly users: UserRepo

  constructor(
    readonly db: Db,
    fanout: StatusChangeFanout,
  ) {
    this.webhooks = new WebhookRepo(db.dialect)
    this.jobs = new JobRepo(db.dialect)
    this.inbound = new InboundRepo(db.dialect)
    this.privacy = new PrivacyRepo(db.exec)
    this.verify = new VerifyRepo(db.exec)
    this.routing = new RoutingRepo(db, this.privacy)
    this.events = new EventRepo(fanout, db.dialect)
    this.consents = new ConsentRepo(db.dialect, this.events, this.privacy)
    this.messages = new MessageRepo(db.dialect, fanout, this.consents)
    this.conversations = new ConversationRepo(db)
    this.audit = new AuditRepo(db.kysely, this.privacy)
    this.templates = new TemplateRepo(db.kysely, db.exec)
    this.users = new UserRepo(db.kysely)
  }

  get dialect(): Db['dialect'] {
    return this.db.dialect
  }

  async tx<T>(program: () => TxProgram<T>, immediate = false): Promise<T> {
    const raised = this.events.raised
    const result = await this.db.exec.transaction(program, immediate)
    // Events were raised since this program began (by it or by another that commits as well):
    // tell the listeners once this commit is done, so a stream reads them.
    if (this.events.raised !== raised) for (const l of this.#eventListeners) l()
    return result
  }

  readonly #eventListeners = new Set<() => void>()

  /** Calls `listener` after each commit of a transaction that raised application events. */
  onEventsCommitted(listener: () => void): () => void {
    this.#eventListeners.add(listener)
    return () => this.#eventListeners.delete(listener)
  }

  /** The message a provider id names (an inbound SMS's, or a part of an outbound one). */
  async findByProviderRef(
    provider: string,
    providerMessageId: string,
  ): Promise<MessageRow | undefined> {
    return this.db.kysely
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS.map((c) => `messages.${c}` as const))
      .innerJoin('provider_refs', 'provider_refs.message_id', 'messages.id')
      .where('provider_refs.provider', '=', provider)
      .where('provider_refs.provider_message_id', '=', providerMessageId)
      .executeTakeFirst()
  }

  /**
   * What a simulated phone received: outbound messages to `phone` sent through one of the
   * simulator instances `providers` and reported delivered, newest first (the recipient index).
   */
  async simulatorInbox(
    phone: string,
    providers: readonly string[],
    limit: number,
  ): Promise<MessageRow[]> {
    if (providers.length === 0) return []
    return this.db.kysely
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('to_number', '=', phone)
      .where('direction', '=', 'outbound')
      .where('provider', 'in', providers)
      .where('status', '=', 'delivered')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute()
  }

  /** Logged application events after `afterId`, oldest first (the event stream's reads). */
  async readEventsAfter(afterId: number, limit: number): Promise<LoggedEventRow[]> {
    const found = await this.db.kysely
      .selectFrom('events')
      .select(['id', 'type', 'data', 'at'])
      .where('id', '>', afterId)
      .orderBy('id', 'asc')
      .limit(limit)
      .execute()
    return found.map((r) => ({ ...r, id: Number(r.id), at: Number(r.at) }))
  }

  /** The first and last ids of the event log (null when it is empty). */
  async eventBounds(): Promise<{ first: number | null; last: number | null }> {
    const r = await this.db.kysely
      .selectFrom('events')
      .select((eb) => [eb.fn.min('id').as('first'), eb.fn.max('id').as('last')])
      .executeTakeFirst()
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v))
    return { first: num(r?.first), last: num(r?.last) }
  }

  /**
   * Deletes up to `limit` of the oldest events logged before `before`, never the newest one
   * (it tells a resumed stream how far the log went). Returns how many went.
   */
  async purgeEvents(before: number, limit: number): Promise<number> {
    const res = await this.db.kysely
      .deleteFrom('events')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('events')
          .select('id')
          .where('at', '<', before)
          .where('id', '<', (sub) => sub.selectFrom('events').select((e) => e.fn.max('id').as('m')))
          .orderBy('id', 'asc')
          .limit(limit),
      )
      .executeTakeFirst()
    return Number(res.numDeletedRows)
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
    // Both sides are indexed (messages_to, messages_from): the planner unions the two.
    const n = f.number
    if (n) q = q.where((eb) => eb.or([eb('to_number', '=', n), eb('from_number', '=', n)]))
    // No provider index, as for status: the column is written on every send, and a provider
    // carries a large share of the traffic, so the newest-first walk fills a page quickly.
    if (f.provider) q = q.where('provider', '=', f.provider)
    if (f.type) q = q.where('type', '=', f.type as MessageRow['type'])
    if (f.direction) q = q.where('direction', '=', f.direction as MessageRow['direction'])
    if (f.createdAfter !== undefined) q = q.where('created_at', '>=', f.createdAfter)
    if (f.createdBefore !== undefined) q = q.where('created_at', '<', f.createdBefore)
    if (f.beforeId) q = q.where('id', '<', f.beforeId)
    return q.orderBy('id', 'desc').limit(f.limit).execute()
  }

  /** The current consent state of a number, per scope (its latest ledger entry for each). */
  async consentState(phone: string): Promise<ConsentState[]> {
    const found = await this.db.kysely
      .selectFrom('consents as c')
      .select(['c.phone', 'c.scope', 'c.action', 'c.at'])
      .where('c.phone', '=', phone)
      .where(
        'c.id',
        '=',
        sql<number>`(SELECT MAX(l.id) FROM consents l WHERE l.phone = c.phone AND l.scope = c.scope)`,
      )
      .orderBy('c.scope')
      .execute()
    return found.map((r) => ({
      phone: r.phone,
      scope: r.scope,
      status: r.action === 'opt_in' ? 'opted_in' : 'opted_out',
      since: Number(r.at),
    }))
  }

  /** Every consent ledger entry of a number, oldest first. */
  async consentHistory(phone: string): Promise<ConsentHistoryEntry[]> {
    const found = await this.db.kysely
      .selectFrom('consents')
      .select(['action', 'scope', 'source', 'disclosure', 'evidence', 'at'])
      .where('phone', '=', phone)
      .orderBy('id')
      .execute()
    return found.map((r) => ({
      action: r.action,
      scope: r.scope,
      source: r.source,
      at: Number(r.at),
      disclosure: r.disclosure,
      evidence: r.evidence === null ? null : (JSON.parse(r.evidence) as Record<string, unknown>),
    }))
  }

  /**
   * Numbers currently opted out (their latest ledger entry for a scope is an opt-out), newest
   * entry first: at most `limit`, older than ledger row `beforeId`, of one `scope` if given.
   */
  async listOptedOut(f: {
    scope?: string | undefined
    beforeId?: number | undefined
    limit: number
  }): Promise<OptedOut[]> {
    let q = this.db.kysely
      .selectFrom('consents as c')
      .select(['c.id', 'c.phone', 'c.scope', 'c.at'])
      .where('c.action', '=', 'opt_out')
      .where(
        'c.id',
        '=',
        sql<number>`(SELECT MAX(l.id) FROM consents l WHERE l.phone = c.phone AND l.scope = c.scope)`,
      )
    if (f.scope !== undefined) q = q.where('c.scope', '=', f.scope)
    if (f.beforeId !== undefined) q = q.where('c.id', '<', f.beforeId)
    const found = await q.orderBy('c.id', 'desc').limit(f.limit).execute()
    return found.map((r) => ({
      id: Number(r.id),
      phone: r.phone,
      scope: r.scope,
      status: 'opted_out',
      since: Number(r.at),
    }))
  }

  /** Sends refused at intake for consent, by reason (`recipient_opted_out`, `consent_required`). */
  async countConsentRefusals(since = 0): Promise<Record<string, number>> {
    const found = await this.db.kysely
      .selectFrom('consent_refusals')
      .select(['reason', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('at', '>=', since)
      .groupBy('reason')
      .execute()
    return Object.fromEntries(found.map((r) => [r.reason, Number(r.n)]))
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

  /** The provider's ids of a message's parts, by attempt then part (provider_refs_message). */
  async listMessageParts(messageId: string): Promise<ProviderRefRow[]> {
    return this.db.kysely
      .selectFrom('provider_refs')
      .selectAll()
      .where('message_id', '=', messageId)
      .orderBy('attempt', 'asc')
      .orderBy('part', 'asc')
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

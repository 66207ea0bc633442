import type { InstanceHealth } from '../domain/routing/provider-monitor.js'
import type { Db } from './db.js'
import type { PrivacyRepo } from './privacy.repo.js'
import { run, type TxProgram } from './executor.js'

/** A recipient who opted out of a sender, as a send's rejection reported it. */
export interface Suppression {
  readonly recipient: string
  /** See {@link senderKey}. */
  readonly senderKey: string
  readonly provider: string
  readonly errorCode: string
}

/**
 * What a suppression is keyed by: the sender, or `@{instance}` for an instance's default
 * sender (a message sent without one: a Twilio Messaging Service). `@` is in no valid sender.
 */
export const senderKey = (sender: string | null, provider: string): string =>
  sender ?? `@${provider}`

/** Snapshots older than this are no process's any more. */
const HEALTH_KEEP_MS = 86_400_000

/** Suppressions and provider health snapshots (migration 0004_routing). */
export class RoutingRepo {
  /** `privacy`: provider suppressions of erased numbers live on under their keyed hash. */
  constructor(
    private readonly db: Db,
    private readonly privacy?: PrivacyRepo,
  ) {}

  /** Records suppressions; in the transaction of the outcome that reported them. */
  *suppress(list: readonly Suppression[], now: number): TxProgram<void> {
    for (const s of list) {
      yield run(
        'INSERT INTO suppressions (recipient, sender_key, provider, error_code, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
        [s.recipient, s.senderKey, s.provider, s.errorCode, now],
      )
    }
  }

  /** The suppressions of these recipients, as `${senderKey}|${recipient}` keys. */
  async suppressedAmong(recipients: readonly string[]): Promise<Set<string>> {
    if (recipients.length === 0) return new Set()
    const found = await this.db.kysely
      .selectFrom('suppressions')
      .select(['recipient', 'sender_key'])
      .where('recipient', 'in', [...new Set(recipients)])
      .execute()
    const out = new Set(found.map((r) => `${r.sender_key}|${r.recipient}`))
    if (this.privacy) for (const k of await this.privacy.erasedSuppressions(recipients)) out.add(k)
    return out
  }

  /** Writes this process's snapshot of its instances, and forgets long-gone processes'. */
  async saveHealth(
    worker: string,
    instances: readonly InstanceHealth[],
    now: number,
  ): Promise<void> {
    await this.db.kysely.transaction().execute(async (trx) => {
      for (const i of instances) {
        const row = { worker, provider: i.name, snapshot: JSON.stringify(i), updated_at: now }
        await trx
          .insertInto('provider_health')
          .values(row)
          .onConflict((oc) =>
            oc.columns(['worker', 'provider']).doUpdateSet({
              snapshot: row.snapshot,
              updated_at: now,
            }),
          )
          .execute()
      }
      await trx
        .deleteFrom('provider_health')
        .where('updated_at', '<', now - HEALTH_KEEP_MS)
        .execute()
    })
  }

  /** The snapshots written since `since`, by every sending process. */
  async readHealth(
    since: number,
  ): Promise<{ worker: string; updatedAt: number; instance: InstanceHealth }[]> {
    const rows = await this.db.kysely
      .selectFrom('provider_health')
      .selectAll()
      .where('updated_at', '>=', since)
      .execute()
    return rows.map((r) => ({
      worker: r.worker,
      updatedAt: r.updated_at,
      instance: JSON.parse(r.snapshot) as InstanceHealth,
    }))
  }
}

import type { AwaitingReport, ProviderRecords } from '../providers/provider.js'
import type { Db } from './db.js'

/** Rows per page of {@link providerRecords}: memory stays bounded whatever the backlog. */
const PAGE = 1000

/**
 * A provider's view of what Switchboard recorded of its work. `awaitingReport` walks the
 * messages by primary key, one page per query, so a large table is read once at start, a page
 * at a time, without an index on status that every status change would have to update.
 */
export function providerRecords(db: Db, provider: string, pageSize = PAGE): ProviderRecords {
  return {
    async *awaitingReport(): AsyncGenerator<readonly AwaitingReport[]> {
      let after = ''
      for (;;) {
        const rows = await db.kysely
          .selectFrom('messages')
          .select(['id', 'to_number', 'provider_message_id', 'sent_at'])
          .where('id', '>', after)
          .where('status', '=', 'sent')
          .where('provider', '=', provider)
          .orderBy('id', 'asc')
          .limit(pageSize)
          .execute()
        const page: AwaitingReport[] = []
        for (const r of rows) {
          if (r.provider_message_id === null || r.sent_at === null) continue
          page.push({
            id: r.id,
            to: r.to_number,
            providerMessageId: r.provider_message_id,
            sentAt: r.sent_at,
          })
        }
        if (page.length > 0) yield page
        const last = rows.at(-1)
        if (!last || rows.length < pageSize) return
        after = last.id
      }
    },
  }
}

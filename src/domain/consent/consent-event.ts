/** What a `consent.changed` event says: one scope of one number changed state. */
export interface ConsentChangedData {
  /** E.164. */
  readonly phone: string
  /** `all`, a sender, or a message type (`marketing`, `transactional`). */
  readonly scope: string
  readonly status: 'opted_in' | 'opted_out'
  readonly source: string
  /** ISO 8601: when the ledger entry was recorded. */
  readonly at: string
}

/** A ledger entry as the event needs it (src/store/consent.repo.ts ConsentEntry fits). */
export interface ConsentChange {
  readonly phone: string
  readonly action: 'opt_in' | 'opt_out'
  readonly scope: string
  readonly source: string
  /** Epoch milliseconds. */
  readonly at: number
}

/**
 * The `consent.changed` application event for one recorded ledger entry (webhooks and the
 * event stream carry `data`). One shape for every source: keywords, the API, imports.
 */
export function consentChangedEvent(c: ConsentChange): {
  readonly type: 'consent.changed'
  readonly data: ConsentChangedData
  readonly at: number
} {
  return {
    type: 'consent.changed',
    data: {
      phone: c.phone,
      scope: c.scope,
      status: c.action === 'opt_in' ? 'opted_in' : 'opted_out',
      source: c.source,
      at: new Date(c.at).toISOString(),
    },
    at: c.at,
  }
}

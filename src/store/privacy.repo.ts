import { createHmac, randomBytes } from 'node:crypto'
import type { MessageRecord } from '../domain/messages/message.js'
import { presentMessage } from '../domain/messages/present.js'
import type { ConsentState } from './consent.repo.js'
import { rows, run, type Executor, type Query, type TxProgram } from './executor.js'
import type { ConsentRow, ErasedOptOutRow, SuppressionRow } from './schema.js'

/** The setting holding the server secret that phone numbers are hashed under (base64url). */
export const PRIVACY_KEY_SETTING = 'privacy_hash_key'
/** The setting holding the id of the last message the retention purge walked past. */
export const RETENTION_WATERMARK_SETTING = 'retention_watermark'

/** HMAC-SHA256 of an E.164 number under the server's key, hex: how an erased number is kept. */
export function phoneHash(key: Buffer, e164: string): string {
  return createHmac('sha256', key).update(e164, 'utf8').digest('hex')
}

/** How the audit log names a number: its keyed hash, never the number. */
export const phoneTarget = (hash: string): string => `phone:${hash}`

/** What an erasure or an export is about, gathered once before the steps run. */
export interface Subject {
  /** E.164. */
  readonly phone: string
  /** Its keyed hash. */
  readonly hash: string
  /** Messages to or from the number. */
  readonly messageIds: readonly string[]
  /** The bodies of those messages (what else may hold them is scrubbed of them too). */
  readonly bodies: ReadonlySet<string>
  readonly now: number
}

/**
 * One table's part in export and erasure. Export and erasure are this list run in order, in
 * one transaction: a table added later (contacts, conversations, the simulator phone's inbox)
 * is one more entry. `erase` returns how many rows it deleted or scrubbed.
 */
export interface PrivacyStep {
  /** Its section of the export, and its count in the erasure's answer. */
  readonly name: string
  exportRows(s: Subject): TxProgram<unknown[]>
  erase(s: Subject): TxProgram<number>
}

const CHUNK = 500
const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ')
const like = (phone: string) => `%${phone}%`
const json = (text: string | null): unknown => {
  if (text === null || text === '') return text
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/** Runs `q(chunk)` over `ids` in chunks; the rows of every chunk, in order. */
function* chunkedRows<R>(
  ids: readonly string[],
  q: (chunk: readonly string[]) => Query,
): TxProgram<R[]> {
  const out: R[] = []
  for (let i = 0; i < ids.length; i += CHUNK) {
    out.push(...((yield q(ids.slice(i, i + CHUNK))) as R[]))
  }
  return out
}

function* chunkedRun(
  ids: readonly string[],
  q: (chunk: readonly string[]) => Query,
): TxProgram<number> {
  let n = 0
  for (let i = 0; i < ids.length; i += CHUNK) n += (yield q(ids.slice(i, i + CHUNK))) as number
  return n
}

/** Replaces the number (anywhere in a string) and the erased bodies (whole strings) in JSON. */
export function scrubJson(text: string, phone: string, bodies: ReadonlySet<string>): string {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return bodies.has(v) ? '' : v.split(phone).join('')
    if (Array.isArray(v)) return v.map(walk)
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
    }
    return v
  }
  try {
    return JSON.stringify(walk(JSON.parse(text)))
  } catch {
    return text.split(phone).join('')
  }
}

/** Webhook deliveries about the subject: of its messages, or whose payload names the number. */
function* deliveryIds(s: Subject): TxProgram<string[]> {
  const ids = new Set<string>()
  const byMessage = yield* chunkedRows<{ id: string }>(s.messageIds, (c) =>
    rows(`SELECT id FROM webhook_deliveries WHERE message_id IN (${marks(c.length)})`, c),
  )
  for (const r of byMessage) ids.add(r.id)
  const byPayload = (yield rows('SELECT id FROM webhook_deliveries WHERE payload LIKE ?', [
    like(s.phone),
  ])) as { id: string }[]
  for (const r of byPayload) ids.add(r.id)
  return [...ids]
}

/** The steps, in order; the messages step comes last (the others find rows by its ids). */
export const PRIVACY_STEPS: readonly PrivacyStep[] = [
  {
    // A contact's conversations hold no number or body of theirs (the number is ours, the
    // messages are found by query), but they are about the person: they go with the contact.
    name: 'conversations',
    *exportRows(s) {
      return (yield rows(
        'SELECT c.* FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE k.phone = ? ORDER BY c.id',
        [s.phone],
      )) as Record<string, unknown>[]
    },
    *erase(s) {
      return (yield run(
        'DELETE FROM conversations WHERE contact_id IN (SELECT id FROM contacts WHERE phone = ?)',
        [s.phone],
      )) as number
    },
  },
  {
    name: 'contact',
    *exportRows(s) {
      return (yield rows('SELECT * FROM contacts WHERE phone = ?', [s.phone])) as Record<
        string,
        unknown
      >[]
    },
    *erase(s) {
      return (yield run('DELETE FROM contacts WHERE phone = ?', [s.phone])) as number
    },
  },
  {
    name: 'consents',
    *exportRows(s) {
      const found = (yield rows('SELECT * FROM consents WHERE phone = ? ORDER BY id', [
        s.phone,
      ])) as ConsentRow[]
      return found.map((r) => ({ ...r, evidence: json(r.evidence) }))
    },
    *erase(s) {
      return (yield run('DELETE FROM consents WHERE phone = ?', [s.phone])) as number
    },
  },
  {
    name: 'suppressions',
    *exportRows(s) {
      return (yield rows('SELECT * FROM suppressions WHERE recipient = ?', [
        s.phone,
      ])) as SuppressionRow[]
    },
    *erase(s) {
      return (yield run('DELETE FROM suppressions WHERE recipient = ?', [s.phone])) as number
    },
  },
  {
    name: 'messageEvents',
    *exportRows(s) {
      return yield* chunkedRows(s.messageIds, (c) =>
        rows(
          `SELECT message_id, status, error_code, detail, at FROM message_events WHERE message_id IN (${marks(c.length)}) ORDER BY id`,
          c,
        ),
      )
    },
    // The timeline (status, times, error codes) stays for analytics; the free-text detail goes.
    *erase(s) {
      return yield* chunkedRun(s.messageIds, (c) =>
        run(
          `UPDATE message_events SET detail = NULL WHERE detail IS NOT NULL AND message_id IN (${marks(c.length)})`,
          c,
        ),
      )
    },
  },
  {
    name: 'webhookAttempts',
    *exportRows(s) {
      const ids = yield* deliveryIds(s)
      return yield* chunkedRows(ids, (c) =>
        rows(
          `SELECT * FROM webhook_attempts WHERE delivery_id IN (${marks(c.length)}) ORDER BY id`,
          c,
        ),
      )
    },
    *erase(s) {
      const ids = yield* deliveryIds(s)
      return yield* chunkedRun(ids, (c) =>
        run(`DELETE FROM webhook_attempts WHERE delivery_id IN (${marks(c.length)})`, c),
      )
    },
  },
  {
    // Payloads carry the number (and a received message's body): pending ones are not sent.
    name: 'webhookDeliveries',
    *exportRows(s) {
      const ids = yield* deliveryIds(s)
      const found = yield* chunkedRows<{ payload: string }>(ids, (c) =>
        rows(
          `SELECT id, message_id, endpoint_id, url, event_type, payload, status, attempts, last_status_code, last_error, created_at, updated_at FROM webhook_deliveries WHERE id IN (${marks(c.length)}) ORDER BY id`,
          c,
        ),
      )
      return found.map((r) => ({ ...r, payload: json(r.payload) }))
    },
    *erase(s) {
      const ids = yield* deliveryIds(s)
      return yield* chunkedRun(ids, (c) =>
        run(`DELETE FROM webhook_deliveries WHERE id IN (${marks(c.length)})`, c),
      )
    },
  },
  {
    // The stored answers to Idempotency-Key requests: the key stays (a retry must not send
    // again), its answer loses the number and the bodies.
    name: 'idempotencyRecords',
    *exportRows(s) {
      const found = (yield rows(
        'SELECT api_key_id, key, response_status, response_body, created_at, expires_at FROM idempotency_keys WHERE response_body LIKE ?',
        [like(s.phone)],
      )) as { response_body: string }[]
      return found.map((r) => ({ ...r, response_body: json(r.response_body) }))
    },
    *erase(s) {
      const found = (yield rows(
        'SELECT api_key_id, key, response_body FROM idempotency_keys WHERE response_body LIKE ?',
        [like(s.phone)],
      )) as { api_key_id: string; key: string; response_body: string }[]
      for (const r of found) {
        yield run(
          'UPDATE idempotency_keys SET response_body = ? WHERE api_key_id = ? AND key = ?',
          [scrubJson(r.response_body, s.phone, s.bodies), r.api_key_id, r.key],
        )
      }
      return found.length
    },
  },
  {
    // Application events (message.received, consent.changed, ...) that name the number.
    name: 'events',
    *exportRows(s) {
      const found = (yield rows('SELECT * FROM events WHERE data LIKE ? ORDER BY id', [
        like(s.phone),
      ])) as { data: string }[]
      return found.map((r) => ({ ...r, data: json(r.data) }))
    },
    *erase(s) {
      return (yield run('DELETE FROM events WHERE data LIKE ?', [like(s.phone)])) as number
    },
  },
  {
    name: 'jobs',
    *exportRows(s) {
      const found = (yield rows(
        'SELECT id, type, payload, attempts, run_at, created_at FROM jobs WHERE payload LIKE ?',
        [like(s.phone)],
      )) as { payload: string }[]
      return found.map((r) => ({ ...r, payload: json(r.payload) }))
    },
    *erase(s) {
      return (yield run('DELETE FROM jobs WHERE payload LIKE ?', [like(s.phone)])) as number
    },
  },
  {
    name: 'inboundParts',
    *exportRows(s) {
      return (yield rows('SELECT * FROM inbound_parts WHERE from_number = ?', [
        s.phone,
      ])) as unknown[]
    },
    *erase(s) {
      return (yield run('DELETE FROM inbound_parts WHERE from_number = ?', [s.phone])) as number
    },
  },
  {
    // Attempts and provider references hold neither the number nor a body: they stay for
    // analytics (cost, latency, provider), and are exported as part of what is held.
    name: 'sendAttempts',
    *exportRows(s) {
      return yield* chunkedRows(s.messageIds, (c) =>
        rows(
          `SELECT * FROM attempts WHERE message_id IN (${marks(c.length)}) ORDER BY message_id, attempt`,
          c,
        ),
      )
    },
    // eslint-disable-next-line require-yield
    *erase() {
      return 0
    },
  },
  {
    // Verifications to the number (the Verify API): never their code, its HMAC or sealed text.
    name: 'verifications',
    *exportRows(s) {
      return (yield rows(
        'SELECT id, to_number, country, status, code_length, attempts, sends, locale, template, client_ip, message_id, created_at, expires_at, approved_at, locked_until, updated_at, ttl_seconds FROM verifications WHERE to_number = ? ORDER BY created_at',
        [s.phone],
      )) as unknown[]
    },
    *erase(s) {
      return (yield run('DELETE FROM verifications WHERE to_number = ?', [s.phone])) as number
    },
  },
  {
    // The sends the Verify limits count: they go with the number.
    name: 'verificationSends',
    *exportRows(s) {
      return (yield rows(
        'SELECT verification_id, to_number, prefix, country, client_ip, at FROM verification_sends WHERE to_number = ? ORDER BY id',
        [s.phone],
      )) as unknown[]
    },
    *erase(s) {
      return (yield run('DELETE FROM verification_sends WHERE to_number = ?', [s.phone])) as number
    },
  },
  {
    name: 'messages',
    *exportRows(s) {
      const found = yield* chunkedRows<MessageRecord>(s.messageIds, (c) =>
        rows(`SELECT * FROM messages WHERE id IN (${marks(c.length)}) ORDER BY id`, c),
      )
      return found.map(presentMessage)
    },
    // The row stays for analytics (status, times, segments, cost, provider, type) without the
    // number, the body, the metadata, the callback URL or the error text; one not yet sent is
    // canceled (its number is gone).
    *erase(s) {
      return yield* chunkedRun(s.messageIds, (c) =>
        run(
          `UPDATE messages SET to_number = CASE WHEN to_number = ? THEN '' ELSE to_number END, from_number = CASE WHEN from_number = ? THEN NULL ELSE from_number END, body = '', metadata = NULL, status_callback = NULL, error_message = NULL, status = CASE WHEN status IN ('queued', 'scheduled') THEN 'canceled' ELSE status END, next_attempt_at = CASE WHEN status IN ('queued', 'scheduled') THEN NULL ELSE next_attempt_at END, completed_at = CASE WHEN status IN ('queued', 'scheduled') THEN ? ELSE completed_at END, body_purged_at = ?, updated_at = ? WHERE id IN (${marks(c.length)})`,
          [s.phone, s.phone, s.now, s.now, s.now, ...c],
        ),
      )
    },
  },
]

/** Statuses whose message may still be sent: the retention purge leaves their bodies. */
const UNFINISHED = new Set(['scheduled', 'queued', 'sending'])

/**
 * Data protection: the server's hashing key, export and erasure of a number (PRIVACY_STEPS),
 * opt-outs that survive erasure (`erased_opt_outs`), and the retention purge of old bodies.
 */
export class PrivacyRepo {
  #key: Buffer | undefined

  constructor(
    private readonly exec: Executor,
    readonly steps: readonly PrivacyStep[] = PRIVACY_STEPS,
  ) {}

  /**
   * The key phone numbers are hashed under, created on first use. Never rotated: an opt-out of
   * an erased number is found by it.
   */
  async key(): Promise<Buffer> {
    if (this.#key) return this.#key
    // Its own statement (committed at once), so a transaction that rolls back loses no key.
    await this.exec.query({
      sql: 'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING',
      params: [PRIVACY_KEY_SETTING, randomBytes(32).toString('base64url')],
      mode: 'run',
    })
    const key = keyOf(await this.exec.query<{ value: string }>(readKey()))
    if (!key) throw new Error('the privacy hash key could not be stored')
    return (this.#key = key)
  }

  /** The key if one was ever created (no number was hashed before that), in a transaction. */
  *#existingKey(): TxProgram<Buffer | undefined> {
    if (this.#key) return this.#key
    const key = keyOf((yield readKey()) as { value: string }[])
    if (key) this.#key = key
    return key
  }

  /** The keyed hash of each of `phones` (none: no key exists yet, so nothing was hashed). */
  *hashes(phones: readonly string[]): TxProgram<Map<string, string>> {
    const key = yield* this.#existingKey()
    const out = new Map<string, string>()
    if (key) for (const p of phones) out.set(p, phoneHash(key, p))
    return out
  }

  /**
   * Opt-outs of erased numbers among `phones`, as consent states (`opted_out` since the
   * erasure). ConsentRepo.states merges them, so enforcement built on it refuses such numbers.
   */
  *erasedStates(phones: readonly string[]): TxProgram<ConsentState[]> {
    const hashes = yield* this.hashes([...new Set(phones)])
    if (hashes.size === 0) return []
    const byHash = new Map([...hashes].map(([p, h]) => [h, p]))
    const list = [...byHash.keys()]
    const found = yield* chunkedRows<Pick<ErasedOptOutRow, 'hash' | 'scope' | 'at'>>(list, (c) =>
      rows(
        `SELECT hash, scope, at FROM erased_opt_outs WHERE source = 'consent' AND hash IN (${marks(c.length)})`,
        c,
      ),
    )
    return found.map((r) => ({
      phone: byHash.get(r.hash) as string,
      scope: r.scope,
      status: 'opted_out' as const,
      since: Number(r.at),
    }))
  }

  /**
   * Whether an erased number had opted out of what this message is: `all`, its sender, or
   * (a marketing message) `marketing`, by the consent model's enforcement rule.
   */
  *isErasedOptOut(
    phone: string,
    sender: string | null,
    type: 'transactional' | 'marketing',
  ): TxProgram<boolean> {
    const scopes = new Set((yield* this.erasedStates([phone])).map((s) => s.scope))
    return (
      scopes.has('all') ||
      (sender !== null && scopes.has(sender)) ||
      (type === 'marketing' && scopes.has('marketing'))
    )
  }

  /**
   * Provider suppressions of erased numbers among `recipients`, as `${senderKey}|${recipient}`
   * (the send worker's suppression check). Plain reads: no transaction.
   */
  async erasedSuppressions(recipients: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>()
    const unique = [...new Set(recipients)]
    if (unique.length === 0) return out
    if (!this.#key) {
      const key = keyOf(await this.exec.query<{ value: string }>(readKey()))
      if (!key) return out
      this.#key = key
    }
    const key = this.#key
    const byHash = new Map(unique.map((p) => [phoneHash(key, p), p]))
    const hashes = [...byHash.keys()]
    for (let i = 0; i < hashes.length; i += CHUNK) {
      const c = hashes.slice(i, i + CHUNK)
      const found = await this.exec.query<{ hash: string; scope: string }>(
        rows(
          `SELECT hash, scope FROM erased_opt_outs WHERE source = 'provider' AND hash IN (${marks(c.length)})`,
          c,
        ),
      )
      for (const r of found) out.add(`${r.scope}|${byHash.get(r.hash) as string}`)
    }
    return out
  }

  /** Gathers what an export or erasure is about. `hash` from `key()`, read before. */
  *subject(phone: string, hash: string, now: number): TxProgram<Subject> {
    const found = (yield rows(
      "SELECT id, body FROM messages WHERE to_number = ? UNION ALL SELECT id, body FROM messages WHERE direction = 'inbound' AND from_number = ?",
      [phone, phone],
    )) as { id: string; body: string }[]
    const ids = [...new Set(found.map((r) => r.id))]
    const bodies = new Set(found.map((r) => r.body).filter((b) => b !== ''))
    return { phone, hash, messageIds: ids, bodies, now }
  }

  /** Everything held about the subject, per step. */
  *exportAll(s: Subject): TxProgram<Record<string, unknown[]>> {
    const out: Record<string, unknown[]> = {}
    for (const step of this.steps) out[step.name] = yield* step.exportRows(s)
    return out
  }

  /**
   * Erases the subject: first keeps its opt-outs (the latest ledger entry per scope, and the
   * provider's suppressions) under its hash, then runs every step. Returns counts per step.
   */
  *eraseAll(
    s: Subject,
    consentStates: (phones: readonly string[]) => TxProgram<ConsentState[]>,
  ): TxProgram<{ counts: Record<string, number>; optOutsKept: number }> {
    let kept = 0
    const states = yield* consentStates([s.phone])
    for (const st of states) {
      if (st.status !== 'opted_out') continue
      kept += (yield run(
        "INSERT INTO erased_opt_outs (hash, scope, source, at) VALUES (?, ?, 'consent', ?) ON CONFLICT DO NOTHING",
        [s.hash, st.scope, st.since],
      )) as number
    }
    const suppressed = (yield rows(
      'SELECT sender_key, created_at FROM suppressions WHERE recipient = ?',
      [s.phone],
    )) as { sender_key: string; created_at: number }[]
    for (const r of suppressed) {
      kept += (yield run(
        "INSERT INTO erased_opt_outs (hash, scope, source, at) VALUES (?, ?, 'provider', ?) ON CONFLICT DO NOTHING",
        [s.hash, r.sender_key, Number(r.created_at)],
      )) as number
    }
    const counts: Record<string, number> = {}
    for (const step of this.steps) counts[step.name] = yield* step.erase(s)
    return { counts, optOutsKept: kept }
  }

  /**
   * One bounded batch of the retention purge: walks messages by id (time-ordered) from the
   * stored watermark and empties the bodies of those created before `cutoff` and finished;
   * stops at the first one that is younger or unfinished (it is walked again next time).
   * The received-message webhooks of those messages lose their payload. Also deletes up to
   * `limit` application events older than `cutoff`. Returns how many rows it changed.
   */
  *purgeBatch(
    cutoff: number,
    now: number,
    limit: number,
  ): TxProgram<{ messages: number; events: number; more: boolean }> {
    const mark = (yield rows('SELECT value FROM settings WHERE key = ?', [
      RETENTION_WATERMARK_SETTING,
    ])) as { value: string }[]
    const from = mark[0]?.value ?? ''
    const walked = (yield rows(
      'SELECT id, created_at, status, body_purged_at FROM messages WHERE id > ? ORDER BY id LIMIT ?',
      [from, limit],
    )) as { id: string; created_at: number; status: string; body_purged_at: number | null }[]
    const purge: string[] = []
    let last: string | undefined
    let stopped = false
    for (const m of walked) {
      if (Number(m.created_at) >= cutoff || UNFINISHED.has(m.status)) {
        stopped = true
        break
      }
      if (m.body_purged_at === null) purge.push(m.id)
      last = m.id
    }
    if (purge.length > 0) {
      yield run(
        `UPDATE messages SET body = '', body_purged_at = ? WHERE id IN (${marks(purge.length)})`,
        [now, ...purge],
      )
      yield run(
        `UPDATE webhook_deliveries SET payload = '' WHERE event_type = 'message.received' AND status <> 'pending' AND message_id IN (${marks(purge.length)})`,
        purge,
      )
    }
    if (last !== undefined) {
      yield run(
        'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        [RETENTION_WATERMARK_SETTING, last],
      )
    }
    // The newest event stays (it tells a resumed event stream where the log ended), emptied.
    const events = (yield run(
      'DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < ? AND id < (SELECT MAX(id) FROM events) ORDER BY at LIMIT ?)',
      [cutoff, limit],
    )) as number
    yield run(`UPDATE events SET data = '{}' WHERE at < ? AND data <> '{}'`, [cutoff])
    const more = (!stopped && walked.length === limit) || events === limit
    return { messages: purge.length, events, more }
  }
}

const readKey = (): Query => rows('SELECT value FROM settings WHERE key = ?', [PRIVACY_KEY_SETTING])

function keyOf(found: readonly { value: string }[]): Buffer | undefined {
  const v = found[0]?.value
  return v === undefined ? undefined : Buffer.from(v, 'base64url')
}

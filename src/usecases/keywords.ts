import {
  defaultKeywordSettings,
  keywordProgramFor,
  type KeywordSettings,
} from '../domain/consent/keyword-config.js'
import { keywordOf, normalizeKeyword, type KeywordKind } from '../domain/consent/keywords.js'
import type { MessageRecord } from '../domain/messages/message.js'
import { prepareMessage, type MessagePolicy } from '../domain/messages/prepare.js'
import type { Route } from '../domain/routing/route.js'
import { Router } from '../domain/routing/router.js'
import type { ConsentEntry, ConsentState } from '../store/consent.repo.js'
import type { TxProgram } from '../store/executor.js'
import type { Store } from '../store/store.js'
import type { InboundEffect } from './inbound.js'

/** What keyword handling needs from the configuration. */
export interface KeywordOptions {
  /** `KEYWORDS`; the standard keywords and default replies without it. */
  readonly keywords?: KeywordSettings | undefined
  /** The routes in force: a sender's route pool, and whether a reply can be routed. */
  readonly routes?: readonly Route[] | undefined
  /** How replies are built (encoding, segments, validity), as intake builds messages. */
  readonly policy?: MessagePolicy | undefined
}

/** Marks a keyword reply in its `metadata` (with the inbound message it answers). */
export interface KeywordReplyMark {
  readonly keywordReply: { readonly kind: KeywordKind; readonly inReplyTo: string }
}

const DEFAULT_POLICY: MessagePolicy = {
  defaultCountry: undefined,
  maxSegments: 10,
  smartEncoding: false,
  defaultValidityPeriod: 36_000,
  maxValidityPeriod: 7 * 86_400,
  maxScheduleAheadSeconds: 35 * 86_400,
  allowPremiumDestinations: false,
  allowPrivateCallbacks: false,
}

/**
 * Whether `m` is a keyword reply Switchboard queued itself (an opt-out confirmation, a HELP
 * answer): consent enforcement lets it through, as it is the one message allowed to a number
 * that just opted out. Only Switchboard's own sends (no API key) can carry the mark.
 */
export function isKeywordReply(m: Pick<MessageRecord, 'api_key_id' | 'direction' | 'metadata'>) {
  if (m.api_key_id !== null || m.direction !== 'outbound' || m.metadata === null) return false
  try {
    const parsed = JSON.parse(m.metadata) as Partial<KeywordReplyMark>
    return typeof parsed.keywordReply?.kind === 'string'
  } catch {
    return false
  }
}

/** The senders of every route whose senders include `sender`, `sender` first. */
export function routePool(routes: readonly Route[], sender: string): string[] {
  const pool = new Set([sender])
  for (const r of routes) {
    if (r.senders.some((s) => s.from === sender)) for (const s of r.senders) pool.add(s.from)
  }
  return [...pool]
}

/**
 * What inbound keywords do (docs/compliance.md#keywords), in the transaction that stores the
 * inbound SMS. An opt-out keyword sent to number X records `opt_out` for X and every sender in
 * X's route pool (STOPALL: scope `all`); an opt-in keyword records `opt_in` for the same scopes,
 * and for `all` when the number had opted out of it. Only scopes whose state changes get a
 * ledger entry and a `consent.changed` event. Replies go from X as normal queued
 * transactional messages: one opt-out confirmation when something changed (none for a repeated
 * STOP), an opt-in confirmation and the HELP answer every time.
 */
export function keywordEffects(store: Store, o: KeywordOptions = {}): InboundEffect {
  const settings = o.keywords ?? defaultKeywordSettings()
  const routes = o.routes ?? []
  const router = new Router(routes)
  const policy = o.policy ?? DEFAULT_POLICY
  const extraBySender = new Map<string, ReadonlyMap<string, KeywordKind>>()
  const extraOf = (sender: string) => {
    let extra = extraBySender.get(sender)
    if (!extra) {
      extra = new Map(Object.entries(keywordProgramFor(settings, sender).extra))
      extraBySender.set(sender, extra)
    }
    return extra
  }

  return function* (stored, now): TxProgram<void> {
    const hits: { m: MessageRecord; phone: string; sender: string; kind: KeywordKind }[] = []
    for (const m of stored) {
      if (m.direction !== 'inbound' || m.from_number === null) continue
      // The number it was sent to: E.164 or a short code, as the adapters give it.
      const sender = m.to_number
      const kind = keywordOf(m.body, extraOf(sender))
      if (kind !== null) hits.push({ m, phone: m.from_number, sender, kind })
    }
    if (hits.length === 0) return
    yield* store.consents.lockPhones(hits.map((h) => h.phone))

    const replies: MessageRecord[] = []
    for (const { m, phone, sender, kind } of hits) {
      const program = keywordProgramFor(settings, sender)
      let reply = kind === 'help' || kind === 'opt_in'
      if (kind !== 'help') {
        const state = stateOf(yield* store.consents.states([phone]))
        const action = kind === 'opt_in' ? 'opt_in' : 'opt_out'
        const scopes = kind === 'opt_out_all' ? ['all'] : routePool(routes, sender)
        // START undoes STOPALL too: otherwise it would confirm a subscription that stays off.
        if (kind === 'opt_in' && state('all') === 'opted_out') scopes.push('all')
        const status = action === 'opt_in' ? 'opted_in' : 'opted_out'
        const entries: ConsentEntry[] = scopes
          .filter((scope) => state(scope) !== status)
          .map((scope) => ({
            phone,
            action,
            scope,
            source: 'keyword',
            evidence: { messageId: m.id, keyword: normalizeKeyword(m.body), to: m.to_number },
            at: now,
          }))
        if (entries.length > 0) {
          // Recording raises consent.changed for each entry (src/store/consent.repo.ts).
          yield* store.consents.record(entries)
          reply = true
        }
      }
      if (!reply) continue
      const built = replyMessage(m, phone, sender, kind, program.replies[kind], policy, now)
      if (built && router.accepts({ to: built.to_number, type: 'transactional', from: sender })) {
        replies.push(built)
      }
    }
    yield* store.messages.insertOwn(replies)
  }
}

function stateOf(states: readonly ConsentState[]) {
  const byScope = new Map(states.map((s) => [s.scope, s.status]))
  return (scope: string) => byScope.get(scope)
}

/** The reply to `m` from the number it was sent to, or null when it cannot be sent. */
function replyMessage(
  m: MessageRecord,
  phone: string,
  sender: string,
  kind: KeywordKind,
  body: string,
  policy: MessagePolicy,
  now: number,
): MessageRecord | null {
  const mark: KeywordReplyMark = { keywordReply: { kind, inReplyTo: m.id } }
  const r = prepareMessage(
    { to: phone, from: sender, body, type: 'transactional', metadata: { ...mark } },
    { apiKeyId: null, now, policy },
  )
  return r.ok ? r.message : null
}

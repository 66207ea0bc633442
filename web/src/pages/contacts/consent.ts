/**
 * A number's consent as `GET /v1/consents/{phone}` answers it (docs/compliance.md), and what it
 * means for sending, in words.
 */
import { api } from '../../api'
import { formatTime } from '../../components/ui'

export interface ConsentState {
  scope: string
  status: 'opted_in' | 'opted_out'
  since: string
}
export interface ConsentHistoryEntry {
  action: 'opt_in' | 'opt_out'
  scope: string
  source: string
  at: string
  disclosure: string | null
  evidence: Record<string, unknown> | null
}
export interface Consent {
  phone: string
  state: ConsentState[]
  history: ConsentHistoryEntry[]
}

export const consentKey = (phone: string) => ['consents', phone] as const
export const fetchConsent = (phone: string) =>
  api<Consent>(`/v1/consents/${encodeURIComponent(phone)}`)

/** A scope in words: `all`, a message type, or a sender. */
export function scopeInWords(scope: string): string {
  if (scope === 'all') return 'every sender'
  if (scope === 'marketing' || scope === 'transactional') return `${scope} messages`
  return `sender ${scope}`
}

/** How an entry was made, in words ("by replying STOP", "recorded through the API"). */
export function howInWords(e: Pick<ConsentHistoryEntry, 'action' | 'source' | 'evidence'>) {
  const keyword = e.evidence?.keyword
  switch (e.source) {
    case 'keyword':
      return typeof keyword === 'string' ? `by replying ${keyword}` : 'by a keyword reply'
    case 'provider':
      return 'as reported by the provider'
    case 'api':
      return 'as recorded through the API'
    case 'import':
      return 'as recorded by an import'
    case 'web_form':
      return 'through a web form'
    default:
      return `(source ${e.source})`
  }
}

/**
 * Why a message of `type` from `sender` to the number is refused, in words, or null when the
 * consent allows it: an opt-out of `all`, of the sender, or of the message type (the rules the
 * API enforces; a marketing message would also need an opt-in, which replies are not).
 */
export function sendingBlocked(
  consent: Consent,
  sender: string,
  type: 'transactional' | 'marketing' = 'transactional',
): string | null {
  const out = consent.state.find(
    (s) =>
      s.status === 'opted_out' && (s.scope === 'all' || s.scope === sender || s.scope === type),
  )
  if (!out) return null
  const entry = [...consent.history]
    .reverse()
    .find((h) => h.action === 'opt_out' && h.scope === out.scope && h.at <= out.since)
  const how = entry ? howInWords(entry) : ''
  return `${consent.phone} opted out${how ? ` ${how}` : ''} on ${formatTime(out.since)} (${scopeInWords(out.scope)}).`
}

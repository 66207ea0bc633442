/**
 * Consent enforcement (docs/compliance.md, "Consent ledger and enforcement"): whether a
 * message may go to a number, given the number's current consent state per scope.
 *
 * A scope is one string: `all` (every message from every sender), a sender (every message
 * from it), or a message type, `marketing` or `transactional` (that type from every sender).
 * The current state per scope is the latest ledger entry for it.
 */
export type ConsentStatus = 'opted_in' | 'opted_out'

export const MESSAGE_TYPE_SCOPES = ['marketing', 'transactional'] as const

/** Why a message may not go: an opt-out of one of its scopes, or no marketing consent. */
export type ConsentRefusal =
  { code: 'recipient_opted_out'; scope: string } | { code: 'consent_required'; scope: 'marketing' }

/** A number's current state: status per scope (scopes without an entry are absent). */
export type ScopeStates = ReadonlyMap<string, ConsentStatus>

/**
 * The scopes that govern a message of `type` from `sender` (null: not known), most general
 * first: `all`, the sender, the message's type.
 */
export function scopesOf(type: 'transactional' | 'marketing', sender: string | null): string[] {
  return sender === null ? ['all', type] : ['all', sender, type]
}

/**
 * Whether a message of `type` from `sender` may go to a number in `states`. Refused
 * (`recipient_opted_out`) when the number is opted out of `all`, of the sender or of the
 * message's type; a marketing message also needs a current opt-in of `marketing` or `all`
 * (`consent_required`). Transactional messages need no opt-in.
 */
export function consentVerdict(
  states: ScopeStates | undefined,
  type: 'transactional' | 'marketing',
  sender: string | null,
): ConsentRefusal | null {
  for (const scope of scopesOf(type, sender)) {
    if (states?.get(scope) === 'opted_out') return { code: 'recipient_opted_out', scope }
  }
  if (type === 'marketing') {
    if (states?.get('marketing') !== 'opted_in' && states?.get('all') !== 'opted_in') {
      return { code: 'consent_required', scope: 'marketing' }
    }
  }
  return null
}

/** Whether the number is opted out of a scope of the message (the check before each send). */
export function optedOutScope(
  states: ScopeStates | undefined,
  type: 'transactional' | 'marketing',
  sender: string | null,
): string | null {
  const v = consentVerdict(states, type, sender)
  return v?.code === 'recipient_opted_out' ? v.scope : null
}

/** States of several numbers, keyed by phone then scope. */
export function statesByPhone(
  list: readonly { phone: string; scope: string; status: ConsentStatus }[],
): Map<string, Map<string, ConsentStatus>> {
  const out = new Map<string, Map<string, ConsentStatus>>()
  for (const s of list) {
    let m = out.get(s.phone)
    if (!m) out.set(s.phone, (m = new Map<string, ConsentStatus>()))
    m.set(s.scope, s.status)
  }
  return out
}

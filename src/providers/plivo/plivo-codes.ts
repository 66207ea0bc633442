import type { ProviderErrorCode, ReportedStatus } from '../provider.js'

/**
 * Plivo's documented message `ErrorCode`s (status callbacks and message records) and what each
 * means for Switchboard. Sources: Plivo's messaging error-code reference and its FAQ (450,
 * 900, 420). docs/errors.md has the same table; a test checks the two agree.
 */
export const PLIVO_ERROR_CODES = {
  '10': { reason: 'Invalid message', code: 'provider_rejected' },
  '20': { reason: 'Network error', code: 'carrier_error' },
  '30': { reason: 'Spam detected', code: 'blocked_by_carrier' },
  '40': { reason: 'Invalid source number', code: 'provider_rejected' },
  '50': { reason: 'Invalid destination number', code: 'invalid_number' },
  '60': { reason: 'Loop detected', code: 'blocked_by_carrier' },
  '70': { reason: 'Destination permanently unavailable', code: 'unreachable_destination' },
  '80': { reason: 'Destination temporarily unavailable', code: 'undeliverable' },
  '90': { reason: 'No route available', code: 'unreachable_destination' },
  '100': { reason: 'Prohibited by carrier', code: 'blocked_by_carrier' },
  '110': { reason: 'Message too long', code: 'message_too_long' },
  '200': {
    reason: 'Source number blocked by STOP from destination number',
    code: 'recipient_opted_out',
  },
  '201': {
    reason: 'US toll-free number to a Canadian destination blocked',
    code: 'blocked_by_carrier',
  },
  '300': { reason: 'Failed to dispatch message', code: 'carrier_error' },
  '420': { reason: 'Message expired', code: 'validity_expired' },
  '450': {
    reason: 'Destination country barred (Geo Permissions)',
    code: 'unreachable_destination',
  },
  '900': { reason: 'Insufficient credit', code: 'provider_rejected' },
  '910': { reason: 'Account disabled', code: 'provider_rejected' },
  '1000': { reason: 'Unknown error', code: 'carrier_error' },
} as const satisfies Record<string, { reason: string; code: ProviderErrorCode }>

export type PlivoErrorCode = keyof typeof PLIVO_ERROR_CODES

/** The code for a failed or undelivered report: its documented meaning, else a plain failure. */
export function errorCodeFor(
  status: 'failed' | 'undelivered',
  plivoCode: string | undefined,
): ProviderErrorCode {
  const known =
    plivoCode !== undefined && Object.hasOwn(PLIVO_ERROR_CODES, plivoCode)
      ? PLIVO_ERROR_CODES[plivoCode as PlivoErrorCode].code
      : undefined
  return known ?? (status === 'undelivered' ? 'undeliverable' : 'carrier_error')
}

/** Plivo's documented `Status` words, current and older documentation. */
export const PLIVO_STATUSES = [
  'queued',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'rejected',
  'read',
] as const

export type PlivoStatus = (typeof PLIVO_STATUSES)[number]

/**
 * The one place a Plivo `Status` becomes ours. A word Plivo does not document is never final:
 * it reads as `sent` (accepted, nothing known yet), which cannot move a message backwards.
 */
export function mapStatus(word: string): ReportedStatus {
  const status = (PLIVO_STATUSES as readonly string[]).includes(word)
    ? (word as PlivoStatus)
    : undefined
  switch (status) {
    case 'queued':
    case 'sent':
    case undefined:
      return 'sent'
    case 'delivered':
    case 'read': // WhatsApp only: read implies delivered
      return 'delivered'
    case 'undelivered':
      return 'undelivered'
    case 'failed':
    case 'rejected': // older documentation: refused before reaching a carrier
      return 'failed'
  }
}

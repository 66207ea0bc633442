import { parsePhone, type PhoneParse } from './phone.js'

const ALPHANUMERIC_SENDER = /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/
const SHORT_CODE = /^[0-9]{3,8}$/

export type SenderParse =
  | { ok: true; from: string }
  | { ok: false; reason: 'invalid_sender' }
  | {
      ok: false
      reason: 'invalid_phone_number'
      phone: Extract<PhoneParse, { ok: false }>['reason']
    }

/**
 * A sender as messages and routes name it: an E.164 number (normalised), a 3 to 8 digit short
 * code, or an alphanumeric sender id of up to 11 characters. White space around it is trimmed.
 */
export function parseSender(raw: string): SenderParse {
  const sender = raw.trim()
  if (sender.startsWith('+')) {
    const parsed = parsePhone(sender)
    return parsed.ok
      ? { ok: true, from: parsed.e164 }
      : { ok: false, reason: 'invalid_phone_number', phone: parsed.reason }
  }
  if (SHORT_CODE.test(sender) || ALPHANUMERIC_SENDER.test(sender)) return { ok: true, from: sender }
  return { ok: false, reason: 'invalid_sender' }
}

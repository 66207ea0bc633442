import pino, { type Logger } from 'pino'
import { maskPhone } from './domain/messages/phone.js'

const PHONE_KEYS = new Set(['to', 'from', 'to_number', 'from_number', 'msisdn', 'phone', 'number'])
const SECRET_KEYS = new Set([
  'body',
  'text',
  'key',
  'secret',
  'token',
  'password',
  'authorization',
  'apiKey',
  'api_key',
  'otp',
  'webhookSecret',
  'payload',
])
const PHONE_IN_TEXT = /\+?\d[\d ()-]{6,}\d/g

/** Masks phone-number-like runs of digits in free text to their last four digits. */
export function scrubText(s: string): string {
  return s.replace(PHONE_IN_TEXT, (m) => maskPhone(m.replace(/[^\d+]/g, '')))
}

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubText(value)
  if (value === null || typeof value !== 'object' || depth > 3) return value
  if (value instanceof Error) {
    return {
      type: value.name,
      message: scrubText(value.message),
      stack: value.stack && scrubText(value.stack),
    }
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_KEYS.has(k)) out[k] = '[redacted]'
    else if (PHONE_KEYS.has(k) && typeof v === 'string') out[k] = maskPhone(v)
    else out[k] = scrub(v, depth + 1)
  }
  return out
}

/**
 * The process logger. Redaction is on by default and cannot be skipped by a call site:
 * message bodies, keys, secrets and tokens are replaced, phone numbers (by field name and
 * by shape inside text) are masked to their last four digits.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'switchboard' },
      formatters: {
        log: (obj) => scrub(obj, 0) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) =>
            typeof a === 'string' ? scrubText(a) : a,
          ) as typeof args
          method.apply(this, scrubbed)
        },
      },
      serializers: {
        err: (e: unknown) => scrub(e, 0),
        req: (r: { method?: string; url?: string; id?: string }) => ({
          method: r.method,
          url: r.url ? scrubText(r.url.split('?')[0] ?? '') : undefined,
          id: r.id,
        }),
      },
    },
    destination,
  )
}

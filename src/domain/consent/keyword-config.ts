import { analyzeBody } from '../messages/encoding.js'
import { parseSender } from '../messages/sender.js'
import { normalizeKeyword, STANDARD_KEYWORDS, type KeywordKind } from './keywords.js'

/**
 * What keywords do for one sender (docs/compliance.md#keywords): the program's name and
 * support contact, the replies (placeholders already filled in) and the configured keywords
 * added to the standard ones.
 */
export interface KeywordProgram {
  readonly programName: string
  /** An email address, phone number or URL for help; null when not configured. */
  readonly support: string | null
  /** The reply to each kind of keyword, as sent. */
  readonly replies: Readonly<Record<KeywordKind, string>>
  /** Configured keywords (normalized, upper case) and their kind. */
  readonly extra: Readonly<Record<string, KeywordKind>>
}

/** `KEYWORDS`: the default program, and per sender (E.164 or short code) its own. */
export interface KeywordSettings {
  readonly default: KeywordProgram
  /** Each sender's program, the default's settings merged under its own. */
  readonly senders: Readonly<Record<string, KeywordProgram>>
}

export const KEYWORD_KINDS = [
  'opt_out',
  'opt_out_all',
  'opt_in',
  'help',
] as const satisfies readonly KeywordKind[]

/** The program name when none is configured. */
export const DEFAULT_PROGRAM_NAME = 'Switchboard'

/**
 * Default replies (CTIA: the program's name; HELP and the opt-in confirmation say how to opt
 * out; an opt-out confirmation says how to come back). `{program}` and `{support}` are filled in.
 */
export const DEFAULT_REPLIES: Readonly<Record<KeywordKind, string>> = {
  opt_out:
    '{program}: You are unsubscribed and will receive no further messages. Reply START to resubscribe.',
  opt_out_all:
    '{program}: You are unsubscribed from all our messages and will receive no further messages. Reply START to resubscribe.',
  opt_in:
    '{program}: You are subscribed. Msg & data rates may apply. Reply HELP for help. Reply STOP to opt out.',
  help: '{program}: For help, contact {support}. Msg & data rates may apply. Reply STOP to opt out.',
}
/** The default HELP reply when no support contact is configured. */
const DEFAULT_HELP_WITHOUT_SUPPORT = '{program}: Msg & data rates may apply. Reply STOP to opt out.'

/** Replies that must tell how to opt out (CTIA: HELP and the opt-in confirmation). */
const MUST_SAY_STOP: ReadonlySet<KeywordKind> = new Set<KeywordKind>(['help', 'opt_in'])
const PLACEHOLDER = /\{([^{}]*)\}/g
const PROGRAM_KEYS = new Set(['programName', 'support', 'replies', 'extra'])
const MAX_KEYWORD_LENGTH = 40

const STANDARD = new Set(Object.values(STANDARD_KEYWORDS).flat())

/** A program's settings as configured, before defaults are applied. */
interface RawProgram {
  programName?: string
  support?: string
  replies: Partial<Record<KeywordKind, string>>
  extra: Record<string, KeywordKind>
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** Fills in `{program}` and `{support}`. */
function render(template: string, programName: string, support: string | null): string {
  return template.replace(PLACEHOLDER, (whole, name: string) =>
    name === 'program' ? programName : name === 'support' ? (support ?? whole) : whole,
  )
}

/** Reads one program object; every problem goes to `problem` with its field's path. */
function readProgram(raw: unknown, at: string, problem: (m: string) => void): RawProgram {
  const out: RawProgram = { replies: {}, extra: {} }
  if (!isObject(raw)) {
    problem(`${at} must be an object with programName, support, replies and extra`)
    return out
  }
  for (const k of Object.keys(raw)) {
    if (!PROGRAM_KEYS.has(k)) problem(`${at}: unknown setting "${k}"`)
  }
  for (const key of ['programName', 'support'] as const) {
    const v = raw[key]
    if (v === undefined) continue
    if (typeof v !== 'string' || v.trim() === '' || v.length > 100) {
      problem(`${at}.${key} must be a non-empty string of at most 100 characters`)
    } else {
      out[key] = v.trim()
    }
  }
  if (raw.replies !== undefined) {
    if (!isObject(raw.replies)) {
      problem(`${at}.replies must be an object with ${KEYWORD_KINDS.join(', ')}`)
    } else {
      for (const [kind, text] of Object.entries(raw.replies)) {
        if (!(KEYWORD_KINDS as readonly string[]).includes(kind)) {
          problem(`${at}.replies: unknown reply "${kind}" (one of ${KEYWORD_KINDS.join(', ')})`)
        } else if (typeof text !== 'string' || text.trim() === '') {
          problem(`${at}.replies.${kind} must be a non-empty string`)
        } else {
          for (const [, name] of text.matchAll(PLACEHOLDER)) {
            if (name !== 'program' && name !== 'support') {
              problem(`${at}.replies.${kind}: unknown placeholder {${name}} ({program}, {support})`)
            }
          }
          out.replies[kind as KeywordKind] = text
        }
      }
    }
  }
  if (raw.extra !== undefined) {
    if (!isObject(raw.extra)) {
      problem(`${at}.extra must be an object of keyword: kind`)
    } else {
      for (const [word, kind] of Object.entries(raw.extra)) {
        const key = normalizeKeyword(word)
        const label = `${at}.extra "${word}"`
        if (key.length === 0 || key.length > MAX_KEYWORD_LENGTH) {
          problem(
            `${label}: a keyword has 1 to ${MAX_KEYWORD_LENGTH} characters besides punctuation`,
          )
        } else if (STANDARD.has(key)) {
          problem(`${label}: ${key} is a standard keyword and cannot be redefined`)
        } else if (
          typeof kind !== 'string' ||
          !(KEYWORD_KINDS as readonly string[]).includes(kind)
        ) {
          problem(`${label} must be one of ${KEYWORD_KINDS.join(', ')}`)
        } else if (Object.hasOwn(out.extra, key)) {
          problem(`${label}: ${key} is given twice`)
        } else {
          out.extra[key] = kind as KeywordKind
        }
      }
    }
  }
  return out
}

/**
 * Applies `base` (the default program, already read) and the defaults under `own`, renders
 * the replies and checks them: every placeholder filled, HELP and the opt-in confirmation
 * saying how to opt out, and each reply within `maxSegments`.
 */
function resolve(
  own: RawProgram,
  base: RawProgram | undefined,
  at: string,
  maxSegments: number,
  problem: (m: string) => void,
): KeywordProgram {
  const programName = own.programName ?? base?.programName ?? DEFAULT_PROGRAM_NAME
  const support = own.support ?? base?.support ?? null
  const replies = {} as Record<KeywordKind, string>
  for (const kind of KEYWORD_KINDS) {
    const configured = own.replies[kind] ?? base?.replies[kind]
    const template =
      configured ??
      (kind === 'help' && support === null ? DEFAULT_HELP_WITHOUT_SUPPORT : DEFAULT_REPLIES[kind])
    const text = render(template, programName, support)
    replies[kind] = text
    // An inherited reply was checked with the default program; only its length may differ.
    const mine = own.replies[kind] !== undefined
    if (mine && support === null && configured?.includes('{support}')) {
      problem(`${at}.replies.${kind} uses {support} but no support contact is configured`)
    }
    if (mine && MUST_SAY_STOP.has(kind) && !/\bSTOP\b/i.test(text)) {
      problem(`${at}.replies.${kind} must tell how to opt out (e.g. "Reply STOP to opt out")`)
    }
    const segments = analyzeBody(text).segments
    if (segments > maxSegments) {
      problem(`${at}.replies.${kind} takes ${segments} segments (MAX_SEGMENTS is ${maxSegments})`)
    }
  }
  return { programName, support, replies, extra: { ...base?.extra, ...own.extra } }
}

/** The settings without `KEYWORDS`: the standard keywords and the default replies. */
export function defaultKeywordSettings(): KeywordSettings {
  return { default: resolve({ replies: {}, extra: {} }, undefined, '', 10, () => {}), senders: {} }
}

/**
 * Reads `KEYWORDS` (already JSON-parsed; undefined when unset). Every problem goes to
 * `problems`, prefixed with `KEYWORDS` and the field's path; the settings are only usable when
 * none was added.
 *
 * @example
 * readKeywords({ default: { programName: 'Acme Alerts', support: 'help@acme.example',
 *   extra: { ARRET: 'opt_out' } }, senders: { '+15005550006': { programName: 'Acme OTP' } } },
 *   10, problems)
 */
export function readKeywords(
  raw: unknown,
  maxSegments: number,
  problems: string[],
): KeywordSettings {
  if (raw === undefined) return defaultKeywordSettings()
  const problem = (m: string) => problems.push(`KEYWORDS${/^[.:]/.test(m) ? '' : ' '}${m}`)
  if (!isObject(raw)) {
    problem('must be a JSON object { "default": {...}, "senders": { "<number>": {...} } }')
    return defaultKeywordSettings()
  }
  for (const k of Object.keys(raw)) {
    if (k !== 'default' && k !== 'senders') problem(`: unknown setting "${k}" (default, senders)`)
  }
  const base =
    raw.default === undefined
      ? { replies: {}, extra: {} }
      : readProgram(raw.default, '.default', problem)
  const settings = {
    default: resolve(base, undefined, '.default', maxSegments, problem),
    senders: {} as Record<string, KeywordProgram>,
  }
  if (raw.senders !== undefined) {
    if (!isObject(raw.senders)) {
      problem('.senders must be an object of sender: settings')
    } else {
      for (const [name, value] of Object.entries(raw.senders)) {
        const at = `.senders["${name}"]`
        const sender = parseSender(name)
        if (!sender.ok) {
          problem(`${at}: not an E.164 number, short code or sender id`)
          continue
        }
        if (Object.hasOwn(settings.senders, sender.from)) {
          problem(`${at}: ${sender.from} is given twice`)
          continue
        }
        const own = readProgram(value, at, problem)
        settings.senders[sender.from] = resolve(own, base, at, maxSegments, problem)
      }
    }
  }
  return settings
}

/** The program of `sender` (the number a keyword was sent to): its own, else the default. */
export function keywordProgramFor(settings: KeywordSettings, sender: string): KeywordProgram {
  const own = settings.senders[sender]
  if (own) return own
  const parsed = parseSender(sender)
  return (parsed.ok ? settings.senders[parsed.from] : undefined) ?? settings.default
}

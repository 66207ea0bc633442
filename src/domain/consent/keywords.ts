/**
 * SMS keywords (CTIA and carrier practice; ../docs/compliance.md). A keyword is the whole
 * body, with case, surrounding whitespace and punctuation ignored: "Stop." and " stop! " are
 * STOP; "stop texting me" is not (it reads like an opt-out: see `readsLikeOptOut`).
 */
export type KeywordKind = 'opt_out' | 'opt_out_all' | 'opt_in' | 'help'

/** The standard keywords: they always apply and configuration cannot remove them. */
export const STANDARD_KEYWORDS: Readonly<Record<KeywordKind, readonly string[]>> = {
  opt_out: ['STOP', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'],
  opt_out_all: ['STOPALL'],
  opt_in: ['START', 'YES', 'UNSTOP'],
  help: ['HELP', 'INFO'],
}

const STANDARD = new Map<string, KeywordKind>(
  (Object.entries(STANDARD_KEYWORDS) as [KeywordKind, readonly string[]][]).flatMap(
    ([kind, words]) => words.map((w) => [w, kind] as const),
  ),
)

/**
 * The body as keywords are matched: upper case, without surrounding whitespace and
 * punctuation (Unicode punctuation and symbols, so "STOP。" and "¡STOP!" count too).
 */
export function normalizeKeyword(body: string): string {
  return body
    .normalize('NFKC')
    .replace(/^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu, '')
    .toUpperCase()
}

/**
 * The keyword `body` is, or null. `extra`: configured keywords (normalized, upper case) with
 * their kind; the standard ones win over them.
 */
export function keywordOf(
  body: string,
  extra?: ReadonlyMap<string, KeywordKind>,
): KeywordKind | null {
  const word = normalizeKeyword(body)
  if (word.length === 0 || word.length > 40) return null
  return STANDARD.get(word) ?? extra?.get(word) ?? null
}

/** Phrases that ask for no more messages without being a keyword. */
const OPT_OUT_PHRASES = [
  /\b(stop|quit|cease|halt)\b.{0,30}\b(text|texting|sms|messag\w*|send\w*|contact\w*|spam\w*)\b/,
  /\b(don'?t|do not|never)\b.{0,20}\b(text|message|contact|send|sms)\b/,
  /\bunsubscribe\b/,
  /\bopt\s*-?\s*out\b/,
  /\b(remove|take)\b.{0,20}\b(me|my (number|phone))\b.{0,30}\b(list|from)\b/,
  /\bleave me alone\b/,
  /\bno more (texts|messages|sms)\b/,
  /\bwrong number\b/,
]

/**
 * Free text that reads like a request to stop ("please stop texting me", "unsubscribe me"):
 * not acted on (it is not a keyword) but flagged for a person to review. A keyword itself is
 * not free text and returns false.
 */
export function readsLikeOptOut(body: string): boolean {
  if (keywordOf(body) !== null) return false
  const text = body.normalize('NFKC').toLowerCase().replace(/[’‘]/g, "'")
  return OPT_OUT_PHRASES.some((re) => re.test(text))
}

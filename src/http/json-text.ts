import { isUtf8 } from 'node:buffer'

/** Why a request body is not acceptable JSON; `path` points at a duplicate key. */
export type JsonTextProblem =
  | { reason: 'empty' }
  | { reason: 'invalid_utf8' }
  | { reason: 'syntax' }
  | { reason: 'prototype_poisoning' }
  | { reason: 'duplicate_key'; path: string }

export type JsonTextResult = { ok: true; value: unknown } | { ok: false; problem: JsonTextProblem }

const BACKSLASH = 92
const COLON = 58

/**
 * Parses a request body strictly: the bytes must be UTF-8 (no U+FFFD substitution), one leading
 * byte order mark is allowed, keys named `__proto__` (or `constructor` holding `prototype`) are
 * refused as Fastify's parser does, and so is an object with the same key twice (JSON.parse would
 * keep the last one silently).
 *
 * Duplicates are found by counting, not by building a set per object: the keys in the text
 * (strings followed by a colon, found by jumping from quote to quote) must equal the own keys of
 * the parsed objects. Only when they differ is the text walked again to name the duplicate.
 */
export function parseJsonText(raw: Buffer): JsonTextResult {
  if (raw.length === 0) return { ok: false, problem: { reason: 'empty' } }
  if (!isUtf8(raw)) return { ok: false, problem: { reason: 'invalid_utf8' } }
  let text = raw.toString('utf8')
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, problem: { reason: 'syntax' } }
  }
  if (typeof value !== 'object' || value === null) return { ok: true, value }
  const parsedKeys = countParsedKeys(value)
  if (parsedKeys < 0) return { ok: false, problem: { reason: 'prototype_poisoning' } }
  if (parsedKeys !== countTextKeys(text)) {
    return { ok: false, problem: { reason: 'duplicate_key', path: findDuplicateKey(text) ?? '' } }
  }
  return { ok: true, value }
}

/** Own keys of every object in a parsed value; -1 for a prototype-poisoning key. */
function countParsedKeys(root: object): number {
  let n = 0
  const stack: object[] = [root]
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (Array.isArray(top)) {
      for (const v of top as unknown[]) if (typeof v === 'object' && v !== null) stack.push(v)
      continue
    }
    const obj = top as Record<string, unknown>
    // JSON.parse makes every key an own, enumerable property, `__proto__` included. Own keys
    // only: an enumerable property someone added to Object.prototype must not count.
    const keys = Object.keys(obj)
    n += keys.length
    for (const key of keys) {
      if (key === '__proto__') return -1
      const v = obj[key]
      if (typeof v === 'object' && v !== null) {
        if (key === 'constructor' && Object.hasOwn(v, 'prototype')) return -1
        stack.push(v)
      }
    }
  }
  return n
}

/** The index of the quote that closes the string whose opening quote is at `open`. */
function closingQuote(text: string, open: number): number {
  let j = text.indexOf('"', open + 1)
  while (text.charCodeAt(j - 1) === BACKSLASH) {
    let backslashes = 1
    while (text.charCodeAt(j - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) break
    j = text.indexOf('"', j + 1)
  }
  return j
}

/** The index of the first character after `from` that is not JSON whitespace. */
function skipSpace(text: string, from: number): number {
  let k = from
  for (let c = text.charCodeAt(k); c === 32 || c === 10 || c === 13 || c === 9;) {
    c = text.charCodeAt(++k)
  }
  return k
}

/**
 * Keys in valid JSON text. Outside strings a quote always opens a string, so jumping from the
 * end of one string to the next quote never lands inside a string; a string is a key exactly
 * when a colon follows it.
 */
function countTextKeys(text: string): number {
  let n = 0
  for (let i = text.indexOf('"'); i !== -1;) {
    const k = skipSpace(text, closingQuote(text, i) + 1)
    if (text.charCodeAt(k) === COLON) n++
    i = text.indexOf('"', k)
  }
  return n
}

interface Frame {
  path: string
  /** Keys seen so far in an object; null in an array. */
  keys: Set<string> | null
  key: string
  index: number
}

const pointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1')

/** JSON Pointer to the second occurrence of a key in valid JSON text (the error path only). */
function findDuplicateKey(text: string): string | undefined {
  const stack: Frame[] = []
  const childPath = () => {
    const top = stack[stack.length - 1]
    if (!top) return ''
    return `${top.path}/${top.keys ? pointer(top.key) : String(top.index)}`
  }
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '{' || c === '[') {
      stack.push({ path: childPath(), keys: c === '{' ? new Set() : null, key: '', index: 0 })
    } else if (c === '}' || c === ']') {
      stack.pop()
    } else if (c === ',') {
      const top = stack[stack.length - 1]
      if (top && !top.keys) top.index++
    } else if (c === '"') {
      const end = closingQuote(text, i)
      const k = skipSpace(text, end + 1)
      const top = stack[stack.length - 1]
      if (text.charCodeAt(k) === COLON && top?.keys) {
        const key = JSON.parse(text.slice(i, end + 1)) as string
        if (top.keys.has(key)) return `${top.path}/${pointer(key)}`
        top.keys.add(key)
        top.key = key
      }
      i = end
    }
  }
  return undefined
}

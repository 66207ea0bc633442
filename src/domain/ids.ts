import { randomFillSync } from 'node:crypto'

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ' // Crockford base32

let lastTime = -1
let lastRandom: Uint8Array = new Uint8Array(10)

/** Random bytes are drawn from the CSPRNG in blocks: one call per 409 ids, not per id. */
const pool = new Uint8Array(4096)
let poolAt = pool.length

function random10(): Uint8Array {
  if (poolAt + 10 > pool.length) {
    randomFillSync(pool)
    poolAt = 0
  }
  poolAt += 10
  return pool.slice(poolAt - 10, poolAt)
}

function encodeTime(ms: number): string {
  let out = ''
  let t = ms
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32]! + out
    t = Math.floor(t / 32)
  }
  return out
}

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits -> 16 base32 characters
  let out = ''
  let acc = 0
  let bits = 0
  for (const b of bytes) {
    acc = (acc << 8) | b
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += ALPHABET[(acc >> bits) & 31]!
    }
    acc &= (1 << bits) - 1
  }
  return out
}

function increment(bytes: Uint8Array): Uint8Array {
  const next = new Uint8Array(bytes)
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i] !== 255) {
      next[i]! += 1
      return next
    }
    next[i] = 0
  }
  return next
}

/**
 * A monotonic ULID (time-ordered, 26 characters): ids sort by creation time, which cursor
 * pagination and the time-ordered indexes rely on.
 */
export function ulid(now: number = Date.now()): string {
  if (now <= lastTime) {
    lastRandom = increment(lastRandom)
  } else {
    lastTime = now
    lastRandom = random10()
  }
  return encodeTime(lastTime) + encodeRandom(lastRandom)
}

export const newId = (prefix: string): string => `${prefix}_${ulid()}`

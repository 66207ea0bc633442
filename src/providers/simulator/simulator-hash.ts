/**
 * Small, fast, dependency-free hashing used by the simulator to turn (seed, message id,
 * attempt, purpose) into reproducible pseudo-random numbers. Not cryptographic.
 */

const TWO_POW_32 = 4294967296

/** 32-bit FNV-1a over the UTF-16 code units of `text`. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** A second, independent 32-bit string hash (multiply-xorshift per code unit). */
function mix32(text: string): number {
  let hash = 0x9747b28c ^ text.length
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x5bd1e995)
    hash ^= hash >>> 15
  }
  return fmix32(hash)
}

/** Murmur3 finaliser: avalanches all 32 bits. */
export function fmix32(value: number): number {
  let h = value | 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Folds any finite number (seeds may be negative or fractional) into 32 bits. */
export function seedBits(seed: number): number {
  return fmix32(fnv1a32(String(seed)))
}

/**
 * Uniform float in [0, 1) that depends only on its inputs.
 *
 * @param seedHash result of {@link seedBits}
 * @param idHash result of {@link fnv1a32} on the message id
 * @param salt distinguishes independent decisions (permanent, transient, latency...)
 * @param attempt attempt number, or 0 for per-message decisions
 */
export function unitFloat(seedHash: number, idHash: number, salt: number, attempt: number): number {
  let h = fmix32(idHash ^ seedHash)
  h = fmix32(h ^ Math.imul(salt, 0x27d4eb2f))
  h = fmix32(h ^ Math.imul(attempt | 0, 0x165667b1))
  return h / TWO_POW_32
}

/**
 * Provider message id for the `acceptance`-th acceptance (1-based) of message `id`:
 * `SIM` + 16 hex digits, with `-<n>` appended for repeated acceptances.
 */
export function simulatorSid(id: string, acceptance = 1): string {
  const hex = fnv1a32(id).toString(16).padStart(8, '0') + mix32(id).toString(16).padStart(8, '0')
  return acceptance <= 1 ? `SIM${hex}` : `SIM${hex}-${acceptance}`
}

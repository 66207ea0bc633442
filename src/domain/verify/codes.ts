import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  randomInt,
  timingSafeEqual,
} from 'node:crypto'

/**
 * Draws an integer in [0, max) uniformly (the contract of `crypto.randomInt`, which rejects
 * the draws that would bias a modulo). Tests inject a deterministic one.
 */
export type RandomInt = (max: number) => number

export const cryptoRandomInt: RandomInt = (max) => randomInt(max)

/**
 * A code of `length` decimal digits from `random`, one digit per draw: each draw is uniform
 * over 0-9, so every code is equally likely (no modulo bias: `randomInt` rejects biased draws).
 */
export function generateCode(length: number, random: RandomInt = cryptoRandomInt): string {
  let code = ''
  for (let i = 0; i < length; i++) {
    const d = random(10)
    if (!Number.isInteger(d) || d < 0 || d > 9) throw new Error('the random source left 0-9')
    code += String(d)
  }
  return code
}

/** The two keys derived from the server's Verify key (the `verify_code_key` setting). */
export interface VerifyKeys {
  /** HMAC-SHA256 key of stored codes. */
  readonly mac: Buffer
  /** AES-256-GCM key of the code and text kept while a verification is pending. */
  readonly enc: Buffer
}

/** HKDF-SHA256 of the master key, one sub-key per purpose (never the same key twice). */
export function deriveKeys(master: Buffer): VerifyKeys {
  const sub = (info: string) =>
    Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `switchboard verify ${info}`, 32))
  return { mac: sub('code hmac'), enc: sub('code encryption') }
}

/**
 * The stored form of a code: HMAC-SHA256 over the verification's id and the code, hex. The id
 * is part of it so equal codes of two verifications do not have equal HMACs.
 */
export function codeHmac(keys: VerifyKeys, verificationId: string, code: string): string {
  return createHmac('sha256', keys.mac).update(`${verificationId}\u0000${code}`).digest('hex')
}

/** Injected so a test can see the comparison run on equal-length buffers. */
export type Equal = (a: Buffer, b: Buffer) => boolean

/**
 * Whether `candidate` is the code whose HMAC is `stored`: the candidate's HMAC is compared with
 * the stored one in constant time (two 32-byte buffers, whatever the candidate's length).
 */
export function codeMatches(
  keys: VerifyKeys,
  verificationId: string,
  stored: string,
  candidate: string,
  equal: Equal = timingSafeEqual,
): boolean {
  const a = Buffer.from(codeHmac(keys, verificationId, candidate), 'hex')
  const b = Buffer.from(stored, 'hex')
  if (b.length !== a.length) return false
  return equal(a, b)
}

/** AES-256-GCM under `keys.enc`, bound to `context` (the verification id): iv.tag.ciphertext. */
export function seal(keys: VerifyKeys, context: string, plain: string): string {
  const iv = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', keys.enc, iv)
  c.setAAD(Buffer.from(context))
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final()])
  return [iv, c.getAuthTag(), body].map((b) => b.toString('base64url')).join('.')
}

/** The plain text of `seal`, or null when it does not open (another key or context, altered). */
export function open(keys: VerifyKeys, context: string, sealed: string): string | null {
  const [iv, tag, body] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'))
  if (!iv || !tag || !body) return null
  try {
    const d = createDecipheriv('aes-256-gcm', keys.enc, iv)
    d.setAAD(Buffer.from(context))
    d.setAuthTag(tag)
    return Buffer.concat([d.update(body), d.final()]).toString('utf8')
  } catch {
    return null
  }
}

/** The number range velocity detection and the prefix limits group by: all but the last 4 digits. */
export const prefixOf = (e164: string): string => e164.slice(0, Math.max(2, e164.length - 4))

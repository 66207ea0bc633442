import type { RouteSender } from './route.js'

/**
 * cyrb53: a fast, well-mixed 53-bit string hash (public domain). Stable across processes and
 * versions, which sticky senders rely on: the same recipient keeps its sender after a restart.
 */
export function hash53(s: string): number {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return 4294967296 * (2097151 & h2) + (h1 >>> 0)
}

/**
 * The sticky sender for a recipient: rendezvous (highest random weight) hashing of recipient
 * and sender, so the same recipient always gets the same sender, whatever the order senders
 * are listed in, and adding a sender to a list of n moves only about 1/(n+1) of the recipients
 * (those the new sender wins), removing one moves only its own. Null when there are none.
 */
export function pickSender(recipient: string, senders: readonly RouteSender[]): string | null {
  if (senders.length === 1) return senders[0]?.from ?? null
  let best: string | null = null
  let bestScore = -1
  for (const s of senders) {
    const score = hash53(`${recipient}\u0000${s.from}`)
    // Equal 53-bit weights for one recipient are too rare to order.
    if (score > bestScore) {
      best = s.from
      bestScore = score
    }
  }
  return best
}

import type { Logger } from 'pino'
import type { Config } from '../../config.js'
import type { Store } from '../../store/store.js'
import { MemoryBook, type SlotBook } from './book.js'
import { Pacer, type PacingLimits } from './pacer.js'
import { PostgresBook } from './postgres.book.js'
import { RedisBook } from './redis.book.js'

/** The configured limits: each provider instance's `mps`, and each sender's (`senders`). */
export function pacingLimits(
  config: Pick<Config, 'providers'>,
  senders: ReadonlyMap<string, number> = new Map(),
): PacingLimits {
  const providers = new Map<string, number>()
  for (const p of config.providers) if (p.mps !== undefined) providers.set(p.name, p.mps)
  return { providers, senders }
}

/**
 * The pacer of a worker process, or none when nothing is limited. Its schedule is shared where
 * several worker processes may send: Redis with REDIS_URL, else PostgreSQL; a SQLite
 * deployment has one worker, which keeps it in memory.
 */
export function createPacer(
  config: Pick<Config, 'providers' | 'pacing'>,
  store: Store,
  limits: PacingLimits,
  logger?: Pick<Logger, 'warn'>,
): Pacer | undefined {
  if (limits.providers.size === 0 && limits.senders.size === 0) return undefined
  let book: SlotBook
  const { redisUrl, marginMs } = config.pacing
  if (redisUrl !== undefined) book = new RedisBook(redisUrl)
  else if (store.dialect === 'postgres') book = new PostgresBook(store)
  else book = new MemoryBook()
  // A send never goes before its slot (its timer is set early by how late timers have been
  // firing, then it waits for the slot) and may go this late after it (timers on a busy machine
  // fire late); the rest of the margin is for the network's jitter. Going early as well left too
  // little: the bench saw 51 requests in one second at a 50 mps limit.
  const lateMs = Math.round(marginMs * 0.375)
  const earlyMs = 0
  return new Pacer({
    book,
    limits,
    marginMs,
    lateMs,
    earlyMs,
    onError: (err) => logger?.warn({ err, schedule: book.kind }, 'pacing schedule unavailable'),
  })
}

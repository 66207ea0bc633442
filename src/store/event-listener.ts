import pg from 'pg'
import type { Logger } from 'pino'
import type { Config } from '../config.js'
import { EVENTS_CHANNEL } from './event.repo.js'

/** Wait before connecting again after the listening connection was lost. */
const RECONNECT_MS = 1000

/**
 * One PostgreSQL connection per API process that LISTENs for new application events, raised by
 * any process of the cluster (`pg_notify` in the raising transaction, delivered at commit), and
 * calls `onEvents` for those of this process's schema. After a lost connection it reconnects
 * and calls `onEvents` once, since a notification may have been missed meanwhile (the streams
 * read by id, so an extra wake-up costs one read).
 */
export function listenForEvents(
  database: Extract<Config['database'], { kind: 'postgres' }>,
  onEvents: () => void,
  logger: Logger,
): { close(): Promise<void> } {
  let closed = false
  let client: pg.Client | undefined
  let timer: NodeJS.Timeout | undefined

  const connect = async (): Promise<void> => {
    if (closed) return
    const c = new pg.Client({
      connectionString: database.url,
      ...(database.schema ? { options: `-c search_path=${database.schema}` } : {}),
    })
    client = c
    let lost = false
    const again = (err?: Error) => {
      if (lost) return
      lost = true
      if (client === c) client = undefined
      void c.end().catch(() => undefined)
      if (closed) return
      logger.warn({ err }, 'event notifications lost; reconnecting')
      timer = setTimeout(() => void connect(), RECONNECT_MS)
      timer.unref()
    }
    c.on('error', again)
    c.on('end', () => again())
    try {
      await c.connect()
      const [row] = (await c.query<{ schema: string }>('SELECT current_schema() AS schema')).rows
      const schema = row?.schema
      c.on('notification', (n) => {
        if (n.channel === EVENTS_CHANNEL && n.payload === schema) onEvents()
      })
      await c.query(`LISTEN ${EVENTS_CHANNEL}`)
      if (closed) await c.end()
      // Anything committed while no connection listened is read now.
      else onEvents()
    } catch (err) {
      again(err instanceof Error ? err : new Error(String(err)))
    }
  }
  void connect()
  return {
    async close() {
      closed = true
      clearTimeout(timer)
      await client?.end().catch(() => undefined)
    },
  }
}

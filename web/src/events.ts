/**
 * The live event stream (`GET /v1/events/stream`, docs/events.md) as a React hook. The browser's
 * EventSource sends the session cookie and, when the connection drops, reconnects by itself
 * with `Last-Event-ID`, so no event is missed while the stream's log retains it. Each event
 * invalidates the react-query caches it makes stale (see INVALIDATES), then reaches `onEvent`.
 */
import { useQueryClient, type QueryKey } from '@tanstack/react-query'
import { useEffect, useRef, useState } from 'react'

/** The application event types Switchboard raises (src/usecases/inbound.ts, consent). */
export type EventType = 'message.received' | 'consent.changed'

/** One event as the stream sends it; `type` is `reset` when events may have been missed. */
export interface StreamEvent<T = Record<string, unknown>> {
  /** Its place in the event log ('' for `reset`). */
  id: string
  type: EventType | 'reset'
  timestamp: string
  data: T
}

/**
 * The query keys each event type makes stale (every query whose key starts with one). Pages
 * keep their data under these prefixes so the stream refreshes them: a `message.received`
 * changes conversations (new, reopened, unread) and the message log; a `consent.changed`
 * a number's consent and the suppression list. A `reset` refreshes every query.
 */
export const INVALIDATES: Record<EventType, QueryKey[]> = {
  'message.received': [['conversations'], ['messages']],
  'consent.changed': [['consents'], ['suppressions']],
}

/** After the server closed the stream for good (a 503 when full, a restart), retry after. */
const RETRY_MS = 5_000

/**
 * Listens to the event types while the component is mounted, refreshing the queries they
 * affect; `onEvent` (optional) sees each event after that. Returns whether the stream is
 * connected, for a "live" indicator.
 */
export function useEventStream(
  types: readonly EventType[],
  onEvent?: (e: StreamEvent) => void,
): { connected: boolean } {
  const queries = useQueryClient()
  const handler = useRef(onEvent)
  handler.current = onEvent
  const [connected, setConnected] = useState(false)
  const key = [...types].sort().join(',')

  useEffect(() => {
    const wanted = key.split(',').filter(Boolean) as EventType[]
    let source: EventSource | null = null
    let retry: ReturnType<typeof setTimeout> | undefined
    let lastId = ''
    let stopped = false

    const deliver = (type: EventType | 'reset', m: MessageEvent<string>) => {
      if (m.lastEventId) lastId = m.lastEventId
      let payload: { timestamp?: string; data?: Record<string, unknown> } = {}
      try {
        payload = JSON.parse(m.data) as typeof payload
      } catch {
        // a frame that is not JSON carries nothing to show; its queries still refresh
      }
      if (type === 'reset') void queries.invalidateQueries()
      else for (const k of INVALIDATES[type]) void queries.invalidateQueries({ queryKey: k })
      handler.current?.({
        id: m.lastEventId,
        type,
        timestamp: payload.timestamp ?? '',
        data: payload.data ?? {},
      })
    }

    const open = () => {
      const q = new URLSearchParams({ types: wanted.join(',') })
      // A new EventSource starts without Last-Event-ID: carry it over as the query parameter.
      if (lastId) q.set('lastEventId', lastId)
      const s = new EventSource(`/v1/events/stream?${q.toString()}`, { withCredentials: true })
      source = s
      s.onopen = () => setConnected(true)
      s.onerror = () => {
        setConnected(false)
        // CONNECTING: the browser reconnects by itself. CLOSED: it gave up; open a new one.
        if (s.readyState === EventSource.CLOSED && !stopped) {
          retry = setTimeout(open, RETRY_MS)
        }
      }
      for (const t of wanted) s.addEventListener(t, (m: MessageEvent<string>) => deliver(t, m))
      s.addEventListener('reset', (m: MessageEvent<string>) => deliver('reset', m))
    }
    if (wanted.length > 0) open()
    return () => {
      stopped = true
      clearTimeout(retry)
      source?.close()
      setConnected(false)
    }
  }, [key, queries])

  return { connected }
}

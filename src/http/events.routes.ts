import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { once } from 'node:events'
import type { ServerResponse } from 'node:http'
import { AppError, errors } from '../domain/errors.js'
import type { LoggedEventRow } from '../store/store.js'
import type { EventFeed } from '../usecases/event-feed.js'
import type { AppContext } from './context.js'

/** Events read per query; a stream writes them, then reads on. */
const PAGE = 200
/** Unsent bytes a stream may hold before a heartbeat finds the client gone or stuck. */
const MAX_BUFFERED = 1 << 20
/** How long a stream waits for a full socket buffer to drain before it gives the client up. */
const DRAIN_TIMEOUT_MS = 60_000

const EVENT_ID = '^[0-9]{1,15}$'
const TYPE_LIST = '^[a-z_]+\\.[a-z_]+(,[a-z_]+\\.[a-z_]+)*$'

const StreamQuery = Type.Object(
  {
    lastEventId: Type.Optional(
      Type.String({
        pattern: EVENT_ID,
        description:
          'Resume after this event id (as the `Last-Event-ID` header, which takes precedence)',
      }),
    ),
    types: Type.Optional(
      Type.String({
        pattern: TYPE_LIST,
        maxLength: 1000,
        description: 'Only these event types, comma-separated (e.g. `message.received`)',
      }),
    ),
  },
  { additionalProperties: false },
)
type StreamQuery = Static<typeof StreamQuery>

export interface EventStreamOptions {
  /** Comment lines that keep idle connections (and proxies) open; default 15 s. */
  heartbeatMs?: number
}

/**
 * One SSE frame per logged event: `id:` its log id, `event:` its type, `data:` the payload a
 * webhook endpoint receives (`{ type, timestamp, data }`), built without parsing the data again.
 */
export function eventFrame(e: LoggedEventRow): string {
  const payload = `{"type":${JSON.stringify(e.type)},"timestamp":"${new Date(e.at).toISOString()}","data":${e.data}}`
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${payload}\n\n`
}

/** `GET /v1/events/stream`: application events as Server-Sent Events (docs/events.md). */
export function eventRoutes(
  app: FastifyInstance,
  ctx: Pick<AppContext, 'store' | 'logger'> & { events: EventFeed },
  o: EventStreamOptions = {},
): void {
  const heartbeatMs = o.heartbeatMs ?? 15_000
  // Streams never end on their own: stop them before the server waits for its connections.
  app.addHook('preClose', async () => ctx.events.close())

  app.get<{ Querystring: StreamQuery }>(
    '/events/stream',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: 'Stream application events (Server-Sent Events)',
        description:
          'Each event has `id:` (its place in the event log), `event:` (its type, e.g. `message.received`) and `data:` (the JSON a webhook endpoint receives). Resume with the `Last-Event-ID` header: the events after it still in the retained window are sent first, each once, then live ones. A `Last-Event-ID` older than the window gets `event: reset` first. Comment lines keep the connection open every 15 s.',
        tags: ['events'],
        querystring: StreamQuery,
        headers: Type.Object({
          'last-event-id': Type.Optional(Type.String({ pattern: EVENT_ID })),
        }),
        response: {
          200: {
            description: 'An endless `text/event-stream`',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (req, reply) => stream(req, reply, ctx, heartbeatMs),
  )
}

async function stream(
  req: FastifyRequest<{ Querystring: StreamQuery }>,
  reply: FastifyReply,
  ctx: Pick<AppContext, 'store' | 'logger'> & { events: EventFeed },
  heartbeatMs: number,
): Promise<void> {
  const { store, events: feed } = ctx
  const header = req.headers['last-event-id']
  const resume = typeof header === 'string' ? header : req.query.lastEventId
  const types = req.query.types ? new Set(req.query.types.split(',')) : undefined

  const raw: ServerResponse = reply.raw
  let ended = false
  const end = () => {
    if (ended) return
    ended = true
    raw.end()
  }
  const slot = feed.open(end)
  if (!slot) {
    throw new AppError(errors.service_unavailable, {
      reason: 'the number of open event streams is at its limit (EVENT_STREAM_MAX)',
    })
  }
  let heartbeat: NodeJS.Timeout | undefined
  try {
    // Where to start: after the given id, else after the last event logged now (live only).
    const bounds = await store.eventBounds()
    let last = bounds.last ?? 0
    let reset: string | undefined
    if (resume !== undefined) {
      const asked = Number(resume)
      last = asked
      if (bounds.last === null ? asked > 0 : asked > bounds.last) {
        // An id this log never reached (another database, or one restored): start afresh.
        last = bounds.last ?? 0
        reset = resetFrame(asked, bounds.first)
      } else if (bounds.first !== null && asked < bounds.first - 1) {
        // Events after it were purged (EVENT_RETENTION_HOURS): say so, then send what remains.
        reset = resetFrame(asked, bounds.first)
      }
    }

    reply.hijack()
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // The connection ends with the stream: a server stopping need not wait for the client
      // to drop an idle keep-alive connection.
      connection: 'close',
      // Proxies such as nginx must pass each event on at once.
      'x-accel-buffering': 'no',
      'x-request-id': req.id,
    })
    req.raw.socket.setNoDelay(true)
    raw.on('close', () => slot.release())
    raw.write(`retry: 2000\n${reset ?? ': stream open\n\n'}`)
    heartbeat = setInterval(() => {
      // A client that reads nothing is not kept: its unsent bytes would only grow.
      if (raw.writableLength > MAX_BUFFERED) raw.destroy()
      else raw.write(': heartbeat\n\n')
    }, heartbeatMs)
    heartbeat.unref()

    while (!slot.closed && !raw.destroyed) {
      const generation = feed.generation
      const page = await store.readEventsAfter(last, PAGE)
      let out = ''
      for (const e of page) {
        last = e.id
        if (!types || types.has(e.type)) out += eventFrame(e)
      }
      if (out !== '' && !raw.write(out)) await drained(raw)
      if (page.length < PAGE) await slot.changed(generation)
    }
  } catch (err) {
    if (!reply.sent && !raw.headersSent) throw err
    ctx.logger.warn({ err }, 'event stream failed')
    raw.destroy()
  } finally {
    clearInterval(heartbeat)
    slot.release()
    end()
  }
}

function resetFrame(asked: number, first: number | null): string {
  const data = JSON.stringify({ type: 'reset', lastEventId: String(asked), firstEventId: first })
  return `event: reset\ndata: ${data}\n\n`
}

/** Resolves when the socket takes more; destroys a connection that does not within the limit. */
async function drained(raw: ServerResponse): Promise<void> {
  const stop = new AbortController()
  const ignore = () => undefined
  const timer = setTimeout(() => {
    raw.destroy()
    stop.abort()
  }, DRAIN_TIMEOUT_MS)
  try {
    const waits = [
      once(raw, 'drain', { signal: stop.signal }),
      once(raw, 'close', { signal: stop.signal }),
    ]
    for (const w of waits) w.catch(ignore)
    await Promise.race(waits).catch(ignore)
  } finally {
    clearTimeout(timer)
    stop.abort()
  }
}

/**
 * A steerable local HTTP server standing in for a provider's API in adapter tests (127.0.0.1,
 * port 0, keep-alive like the real APIs). It records every request it reads and answers each
 * one with the next queued behaviour, or with `fallback` when nothing is queued.
 *
 * @example
 * const up = await startUpstream({ fallback: () => ({ status: 201, body: '{"sid":"SM1"}' }) })
 * up.answerNext({ status: 503, headers: { 'content-type': 'text/html' }, body: '<h1>down</h1>' })
 * // ... point the adapter's baseUrl at up.url and send ...
 * assert.equal(up.requests.at(-1)?.path, '/2010-04-01/Accounts/AC1/Messages.json')
 * await up.close()
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** One request as the upstream read it, byte for byte. */
export interface UpstreamRequest {
  readonly method: string
  /** Path and raw query string, as sent (`/sms/json?x=1`). */
  readonly path: string
  /** Lower-case header names, as Node parses them. */
  readonly headers: IncomingHttpHeaders
  readonly rawBody: Buffer
}

/** A raw HTTP answer: status, headers and body text, exactly as the upstream sends them. */
export interface RawAnswer {
  readonly status: number
  /** Default: none besides `content-length` (which is always set from `body`). */
  readonly headers?: Readonly<Record<string, string>>
  readonly body: string
}

/** How the upstream treats one request. */
export type UpstreamBehaviour =
  | { readonly kind: 'answer'; readonly answer: RawAnswer }
  /** Reads the request and never answers (until the client gives up or the server closes). */
  | { readonly kind: 'hang' }
  /** Reads the request, then destroys the connection without a byte of answer. */
  | { readonly kind: 'reset' }
  /** Sends status and headers at once, then the body one byte every `intervalMs`. */
  | { readonly kind: 'drip'; readonly answer: RawAnswer; readonly intervalMs: number }
  /** Sends status, headers and half the body (content-length of the whole), then resets. */
  | { readonly kind: 'cut'; readonly answer: RawAnswer }

export interface TestUpstream {
  /** Base URL, e.g. `http://127.0.0.1:40123` (no trailing slash). */
  readonly url: string
  /** Every request read so far, oldest first. */
  readonly requests: readonly UpstreamRequest[]
  /** TCP connections accepted so far (keep-alive clients reuse one). */
  readonly connections: number
  /** Queues a behaviour for the next request that has none. */
  next(behaviour: UpstreamBehaviour): void
  answerNext(answer: RawAnswer): void
  hangNext(): void
  resetNext(): void
  dripNext(answer: RawAnswer, intervalMs?: number): void
  cutNext(answer: RawAnswer): void
  /** Drops queued behaviours and recorded requests (a shared upstream between checks). */
  clear(): void
  close(): Promise<void>
}

export interface UpstreamOptions {
  /** Answer for a request with no queued behaviour. Default: 404 `{"error":"not steered"}`. */
  fallback?: (req: UpstreamRequest) => RawAnswer | Promise<RawAnswer>
  /** Largest request body read; larger ones are answered 413. Default 1 MiB. */
  maxBodyBytes?: number
}

const NOT_STEERED: RawAnswer = {
  status: 404,
  headers: { 'content-type': 'application/json' },
  body: '{"error":"not steered"}',
}

function writeHead(res: ServerResponse, answer: RawAnswer): Buffer {
  const body = Buffer.from(answer.body, 'utf8')
  res.writeHead(answer.status, { ...answer.headers, 'content-length': String(body.length) })
  return body
}

/** Starts a steerable upstream on 127.0.0.1 with a free port. */
export async function startUpstream(o: UpstreamOptions = {}): Promise<TestUpstream> {
  const { fallback = () => NOT_STEERED, maxBodyBytes = 1024 * 1024 } = o
  const requests: UpstreamRequest[] = []
  const queue: UpstreamBehaviour[] = []
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  let connections = 0

  const drip = (res: ServerResponse, answer: RawAnswer, intervalMs: number): void => {
    const body = writeHead(res, answer)
    res.flushHeaders()
    let sent = 0
    const tick = (): void => {
      if (res.destroyed || sent >= body.length) return
      res.write(body.subarray(sent, sent + 1))
      sent++
      if (sent >= body.length) res.end()
      else schedule()
    }
    const schedule = (): void => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        tick()
      }, intervalMs)
      timers.add(timer)
    }
    schedule()
  }

  const behave = async (
    req: UpstreamRequest,
    res: ServerResponse,
    b: UpstreamBehaviour | undefined,
  ): Promise<void> => {
    if (b === undefined) {
      const answer = await fallback(req)
      res.end(writeHead(res, answer))
      return
    }
    switch (b.kind) {
      case 'answer':
        res.end(writeHead(res, b.answer))
        return
      case 'hang':
        return
      case 'reset':
        res.socket?.destroy()
        return
      case 'drip':
        drip(res, b.answer, b.intervalMs)
        return
      case 'cut': {
        const body = writeHead(res, b.answer)
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy())
        return
      }
    }
  }

  const server = createServer({ keepAlive: true }, (req, res) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= maxBodyBytes) chunks.push(chunk)
    })
    req.on('end', () => {
      if (size > maxBodyBytes) {
        res.end(writeHead(res, { status: 413, body: '' }))
        return
      }
      const recorded: UpstreamRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: { ...req.headers },
        rawBody: Buffer.concat(chunks),
      }
      requests.push(recorded)
      behave(recorded, res, queue.shift()).catch(() => res.socket?.destroy())
    })
  })
  server.keepAliveTimeout = 30_000
  server.on('connection', (socket: Socket) => {
    connections++
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  const upstream: TestUpstream = {
    url: `http://127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections
    },
    next: (b) => void queue.push(b),
    answerNext: (answer) => void queue.push({ kind: 'answer', answer }),
    hangNext: () => void queue.push({ kind: 'hang' }),
    resetNext: () => void queue.push({ kind: 'reset' }),
    dripNext: (answer, intervalMs = 100) => void queue.push({ kind: 'drip', answer, intervalMs }),
    cutNext: (answer) => void queue.push({ kind: 'cut', answer }),
    clear: () => {
      queue.length = 0
      requests.length = 0
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  return upstream
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago): connection refused. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

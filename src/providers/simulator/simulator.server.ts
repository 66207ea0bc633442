import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CallbackSender } from './callback-sender.js'
import { SimulatorCore, type SimulatorStats, type SimulatorSubmit } from './simulator-core.js'
import type { SimulatorOptions } from './simulator-options.js'

export interface SimulatorServerOptions extends SimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string
  /** 0 picks a free port. Default 0. */
  port?: number
  /** Where delivery reports are POSTed; without it no reports are produced. */
  callbackUrl?: string
  /** Secret for the `x-simulator-signature` HMAC on callbacks. */
  webhookSecret: string
  /** How long a `timeout` request is held before its socket is destroyed. Default 5000. */
  timeoutHoldMs?: number
  /** How long a failing callback batch is retried. Default 10 minutes. */
  callbackRetryMs?: number
  /** Largest delay between callback tries. Default 2000. */
  callbackMaxBackoffMs?: number
}

export interface SimulatorServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string
  core: SimulatorCore
  /** Waits until queued callbacks are sent (bounded by `timeoutMs`). */
  drainCallbacks(timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

/** Stats served by `GET /v1/stats`. */
export type SimulatorServerStats = SimulatorStats & {
  callbacks?: { delivered: number; dropped: number; failedPosts: number; pending: number }
}

const MAX_BODY_BYTES = 64 * 1024

function sendJson(
  res: ServerResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(payload)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  })
  res.end(body)
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

/** Validates `{ id, to, from, body, attempt }`; returns undefined when malformed. */
function parseSubmit(raw: Buffer): SimulatorSubmit | undefined {
  let value: unknown
  try {
    value = JSON.parse(raw.toString('utf8'))
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Record<string, unknown>
  const attempt = v.attempt ?? 1
  if (typeof v.id !== 'string' || v.id === '' || typeof v.to !== 'string') return undefined
  if (
    typeof v.body !== 'string' ||
    !(v.from === undefined || v.from === null || typeof v.from === 'string')
  ) {
    return undefined
  }
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1) return undefined
  return { id: v.id, to: v.to, from: v.from ?? null, body: v.body, attempt }
}

/**
 * Runs the simulator as an HTTP server (so it can outlive a killed Switchboard process):
 * `POST /v1/messages`, `GET /v1/stats`, `POST /v1/reset`. Delivery reports are POSTed in
 * signed batches to `callbackUrl`, retried while the receiver is down.
 *
 * @example
 * const sim = await startSimulatorServer({ webhookSecret: 's3cret', callbackUrl })
 * // ... point a simulator-http provider at sim.url ...
 * await sim.close()
 */
export async function startSimulatorServer(opts: SimulatorServerOptions): Promise<SimulatorServer> {
  const {
    host = '127.0.0.1',
    port = 0,
    callbackUrl,
    webhookSecret,
    timeoutHoldMs = 5000,
    callbackRetryMs,
    callbackMaxBackoffMs,
    ...coreOptions
  } = opts
  const core = new SimulatorCore(coreOptions)
  const sender =
    callbackUrl === undefined
      ? undefined
      : new CallbackSender({
          url: callbackUrl,
          webhookSecret,
          callbackRetryMs,
          maxBackoffMs: callbackMaxBackoffMs,
          maxBatch: coreOptions.maxReportBatch,
          now: coreOptions.now,
        })
  if (sender) core.setReportHandler((reports) => sender.enqueue(reports))
  const timers = new Set<NodeJS.Timeout>()

  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      fn()
    }, ms)
    timers.add(timer)
    return timer
  }

  const answer = (res: ServerResponse, sms: SimulatorSubmit): void => {
    const outcome = core.submit(sms)
    switch (outcome.kind) {
      case 'accepted':
        return sendJson(res, 201, { sid: outcome.providerMessageId })
      case 'server_error':
        return sendJson(res, 503, { code: 'server_error' })
      case 'rate_limited': {
        const seconds = Math.ceil(outcome.retryAfterMs / 1000)
        return sendJson(res, 429, { code: 'rate_limited' }, { 'retry-after': String(seconds) })
      }
      case 'invalid_number':
        return sendJson(res, 400, { code: 'invalid_number' })
      case 'opted_out':
        return sendJson(res, 400, { code: 'opted_out' })
      case 'timeout': {
        // Accepted and counted by the core; the answer is never sent.
        const timer = later(timeoutHoldMs, () => res.socket?.destroy())
        res.once('close', () => {
          clearTimeout(timer)
          timers.delete(timer)
        })
        return
      }
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method === 'POST' && path === '/v1/messages') {
      const raw = await readBody(req)
      if (raw === undefined) return sendJson(res, 413, { code: 'too_large' })
      const sms = parseSubmit(raw)
      if (!sms) return sendJson(res, 400, { code: 'bad_request' })
      const latency = core.latencyFor(sms.id, sms.attempt)
      if (latency > 0) later(latency, () => answer(res, sms))
      else answer(res, sms)
      return
    }
    if (req.method === 'GET' && path === '/v1/stats') {
      const stats: SimulatorServerStats = { ...core.stats() }
      if (sender) stats.callbacks = sender.stats()
      return sendJson(res, 200, stats)
    }
    if (req.method === 'POST' && path === '/v1/reset') {
      core.reset()
      res.writeHead(204).end()
      return
    }
    sendJson(res, 404, { code: 'not_found' })
  }

  const server = createServer({ keepAlive: true }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { code: 'internal_error' })
      else res.destroy()
    })
  })
  server.keepAliveTimeout = 30_000

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address

  return {
    url: `http://${hostPart}:${address.port}`,
    core,
    drainCallbacks: (timeoutMs) => sender?.drain(timeoutMs) ?? Promise.resolve(),
    async close(): Promise<void> {
      core.close()
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      await sender?.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

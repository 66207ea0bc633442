// A local gateway that speaks the simulator's HTTP API (`POST /v1/messages` -> 201 `{ sid }`)
// and records when each request arrives: pacing and priority tests measure at the provider.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'

export interface Arrival {
  /** Our message id. */
  id: string
  from: string | null
  /** Epoch milliseconds (sub-millisecond), when the request's headers arrived. */
  at: number
}

export interface FakeProvider {
  url: string
  arrivals: Arrival[]
  /** A `PROVIDERS` entry of type simulator-http pointing here. */
  entry(name: string, extra?: Record<string, unknown>): Record<string, unknown>
  close(): Promise<void>
}

export async function startFakeProvider(): Promise<FakeProvider> {
  const arrivals: Arrival[] = []
  let n = 0
  const server: Server = createServer((req, res) => {
    const at = performance.timeOrigin + performance.now()
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          id: string
          from?: string | null
        }
        arrivals.push({ id: body.id, from: body.from ?? null, at })
        const payload = JSON.stringify({ sid: `FAKE${++n}` })
        res.writeHead(201, { 'content-type': 'application/json' }).end(payload)
      } catch {
        res.writeHead(400).end()
      }
    })
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    arrivals,
    entry: (name, extra = {}) => ({
      name,
      type: 'simulator-http',
      url,
      webhookSecret: 'fake-provider-secret',
      ...extra,
    }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** The most requests any half-open one-second window (starting at an arrival) holds. */
export function worstSecond(arrivals: readonly { at: number }[]): number {
  const t = arrivals.map((a) => a.at).sort((a, b) => a - b)
  let worst = 0
  let j = 0
  for (let i = 0; i < t.length; i++) {
    while (j < t.length && (t[j] as number) < (t[i] as number) + 1000) j++
    worst = Math.max(worst, j - i)
  }
  return worst
}

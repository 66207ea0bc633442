/** Helpers shared by the simulator tests (127.0.0.1 only). */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { OutboundSms, WebhookRequest } from '../provider.js'

let sequence = 0

/** A valid outbound message with a fresh id. */
export function makeSms(to: string, overrides: Partial<OutboundSms> = {}): OutboundSms {
  sequence++
  return {
    id: `test-${process.pid}-${sequence}`,
    to,
    from: null,
    body: 'hello from the test suite',
    encoding: 'GSM-7',
    segments: 1,
    validUntil: Date.now() + 60_000,
    attempt: 1,
    ...overrides,
  }
}

/** Polls `probe` every 10 ms until it returns a value or `timeoutMs` passes. */
export async function waitFor<T>(
  probe: () => T | undefined,
  timeoutMs = 5000,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined || Date.now() >= deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export interface Receiver {
  url: string
  requests: WebhookRequest[]
  /** Status the next requests get; default 204. */
  status: number
  close(): Promise<void>
}

/** A local HTTP server recording every request as a WebhookRequest. */
export async function startReceiver(): Promise<Receiver> {
  const requests: WebhookRequest[] = []
  let base = ''
  const receiver: Receiver = {
    url: '',
    requests,
    status: 204,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      requests.push({
        kind: 'status',
        url: `${base}${req.url ?? '/'}`,
        method: req.method ?? 'POST',
        headers: { ...req.headers },
        rawBody: Buffer.concat(chunks),
      })
      res.writeHead(receiver.status).end()
    })
  }
  const server = createServer(onRequest)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  receiver.url = `${base}/webhooks/simulator`
  return receiver
}

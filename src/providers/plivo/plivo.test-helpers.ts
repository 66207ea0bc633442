/** Helpers shared by the Plivo adapter tests (127.0.0.1 only). */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { OutboundSms, WebhookRequest } from '../provider.js'

export const AUTH_ID = 'MAXXXXXXXXXXXXXXXXXX'
export const AUTH_TOKEN = 'plivo-test-auth-token'

let sequence = 0

/** A valid outbound message with a fresh id. */
export function makeSms(to: string, overrides: Partial<OutboundSms> = {}): OutboundSms {
  sequence++
  return {
    id: `msg-plivo-${process.pid}-${sequence}`,
    to,
    from: '+14155550100',
    body: 'hello from the Plivo tests',
    encoding: 'GSM-7',
    segments: 1,
    validUntil: Date.now() + 3_600_000,
    attempt: 1,
    ...overrides,
  }
}

export interface CallbackReceiver {
  /** Base URL; callbacks go to `${url}/webhooks/{name}/{kind}`. */
  readonly url: string
  /** Every request, as the webhook route would hand it to the adapter. */
  readonly requests: WebhookRequest[]
  close(): Promise<void>
}

/** A local server standing in for Switchboard's `/webhooks/...` route, answering 204. */
export async function startCallbackReceiver(): Promise<CallbackReceiver> {
  const requests: WebhookRequest[] = []
  let base = ''
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const path = (req.url ?? '/').split('?', 1)[0] ?? ''
      requests.push({
        kind: path.split('/').pop() ?? '',
        url: `${base}${req.url ?? '/'}`,
        method: req.method ?? 'POST',
        headers: { ...req.headers },
        rawBody: Buffer.concat(chunks),
      })
      res.writeHead(204).end()
    })
  }
  const server = createServer(onRequest)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url: base,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

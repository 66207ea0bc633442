import type { Dispatcher } from 'undici'
import type { TwilioAnswer } from './twilio-errors.js'

/** Enough for any Messages API answer; more is not read (an HTML page, a runaway body). */
const MAX_BODY_BYTES = 256 * 1024

function errorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
    e = e.cause
  }
  return undefined
}

const SAFE_DETAIL = /^[\w.-]{1,64}$/

export interface FormPost {
  readonly origin: string
  readonly path: string
  readonly headers: Record<string, string>
  readonly body: Buffer
}

/**
 * One POST through `dispatcher`, resolved as what it came to: the answer (status, JSON body if
 * any, Retry-After), or how it failed — before the request was fully written (Twilio cannot
 * have acted on it) or after (the outcome is unknown). Never rejects.
 *
 * Uses undici's dispatch handler directly because it reports when the request body has been
 * written to the socket (`onBodySent`), which decides whether a lost answer may have sent the
 * message.
 */
export function postForm(
  dispatcher: Dispatcher,
  req: FormPost,
  signal: AbortSignal,
): Promise<TwilioAnswer> {
  return new Promise<TwilioAnswer>((resolve) => {
    let sent = false
    let settled = false
    let status = 0
    let retryAfter: string | undefined
    const chunks: Buffer[] = []
    let size = 0
    let abortRequest: ((err?: Error) => void) | undefined

    const finish = (answer: TwilioAnswer): void => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      resolve(answer)
    }
    const failed = (reason: 'timeout' | 'connection', detail: string): void => {
      // The status line arrived and the body broke off (or dripped past the deadline): a
      // refusal is still a refusal, but an acceptance without its SID cannot be tracked.
      if (status >= 300) finish({ kind: 'http', status, body: undefined, retryAfter })
      else if (status >= 200) finish({ kind: 'lost', detail: `HTTP ${status}, ${detail}` })
      else if (sent) finish({ kind: 'lost', detail })
      else finish({ kind: 'not_sent', reason, detail })
    }
    function onAbort(): void {
      failed('timeout', 'timeout')
      abortRequest?.(new Error('send aborted'))
    }
    if (signal.aborted) return finish({ kind: 'not_sent', reason: 'timeout', detail: 'timeout' })
    signal.addEventListener('abort', onAbort, { once: true })

    const handler: Dispatcher.DispatchHandler = {
      onConnect(abort) {
        abortRequest = abort
        if (settled) abort(new Error('send aborted'))
      },
      // Called once the (Buffer) body is written to the socket: from here Twilio may have it.
      onBodySent() {
        sent = true
      },
      onHeaders(statusCode, rawHeaders) {
        if (statusCode < 200) return true // 1xx: the final answer follows
        status = statusCode
        for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
          if (rawHeaders[i]?.toString('latin1').toLowerCase() === 'retry-after') {
            retryAfter = rawHeaders[i + 1]?.toString('latin1')
          }
        }
        return true
      },
      onData(chunk) {
        if (size < MAX_BODY_BYTES) chunks.push(chunk)
        size += chunk.length
        return true
      },
      onComplete() {
        finish({ kind: 'http', status, body: parseJson(chunks, size), retryAfter })
      },
      onError(err) {
        const code = errorCode(err)
        const detail = code !== undefined && SAFE_DETAIL.test(code) ? code : 'network error'
        // Before the request was written this is a connection failure (refused, DNS, reset);
        // after, undici's own timeouts included, the answer was lost (see `failed`).
        failed('connection', detail)
      },
    }
    try {
      dispatcher.dispatch(
        {
          origin: req.origin,
          path: req.path,
          method: 'POST',
          headers: req.headers,
          body: req.body,
        },
        handler,
      )
    } catch (err) {
      handler.onError?.(err instanceof Error ? err : new Error(String(err)))
    }
  })
}

function parseJson(chunks: Buffer[], size: number): unknown {
  if (size === 0 || size > MAX_BODY_BYTES) return undefined
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
  } catch {
    return undefined
  }
}

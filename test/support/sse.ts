import { request } from 'undici'

/** One Server-Sent Event as a client sees it. */
export interface SseFrame {
  id: string | undefined
  event: string
  data: string
}

export interface SseClient {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  /** Every frame so far (comments are not frames). */
  readonly frames: SseFrame[]
  /** Comment lines seen (heartbeats). */
  readonly comments: string[]
  /** Waits until `n` frames have come; fails after `timeoutMs`. */
  waitFrames(n: number, timeoutMs?: number): Promise<SseFrame[]>
  close(): Promise<void>
}

/** Opens `url` as an event stream (a real HTTP connection: inject never ends a stream). */
export async function openSse(
  url: string,
  headers: Record<string, string>,
): Promise<SseClient & { body?: string }> {
  const abort = new AbortController()
  const res = await request(url, { headers, signal: abort.signal })
  const frames: SseFrame[] = []
  const comments: string[] = []
  if (res.statusCode !== 200) {
    const body = await res.body.text()
    return {
      status: res.statusCode,
      headers: res.headers,
      frames,
      comments,
      body,
      waitFrames: () => Promise.reject(new Error(`status ${res.statusCode}: ${body}`)),
      close: async () => undefined,
    }
  }
  let buffer = ''
  let ended = false
  const reading = (async () => {
    try {
      for await (const chunk of res.body) {
        buffer += (chunk as Buffer).toString('utf8')
        let cut: number
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut)
          buffer = buffer.slice(cut + 2)
          const frame: SseFrame = { id: undefined, event: 'message', data: '' }
          let isFrame = false
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim())
            else if (line.startsWith('id: ')) frame.id = line.slice(4)
            else if (line.startsWith('event: ')) frame.event = line.slice(7)
            else if (line.startsWith('data: ')) {
              frame.data = line.slice(6)
              isFrame = true
            }
          }
          if (isFrame) frames.push(frame)
        }
      }
    } catch {
      // aborted
    } finally {
      ended = true
    }
  })()
  return {
    status: res.statusCode,
    headers: res.headers,
    frames,
    comments,
    async waitFrames(n, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      while (frames.length < n) {
        if (ended) throw new Error(`stream ended after ${frames.length} of ${n} frames`)
        if (Date.now() > deadline) {
          throw new Error(`timed out with ${frames.length} of ${n} frames`)
        }
        await new Promise((r) => setTimeout(r, 20))
      }
      return frames.slice(0, n)
    },
    async close() {
      abort.abort()
      await reading
    },
  }
}

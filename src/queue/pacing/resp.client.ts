import { connect, type Socket } from 'node:net'

/** A Redis reply: simple strings and bulk strings as strings, nil as null, arrays nested. */
export type RespValue = string | number | null | RespValue[]

export class RedisReplyError extends Error {
  override readonly name = 'RedisReplyError'
}

/** Parses one reply from `buf` at `pos`; undefined when the reply is not complete yet. */
export function parseReply(
  buf: Buffer,
  pos: number,
): { value: RespValue | Error; next: number } | undefined {
  const eol = buf.indexOf('\r\n', pos)
  if (eol < 0) return undefined
  const type = String.fromCharCode(buf[pos] as number)
  const line = buf.toString('utf8', pos + 1, eol)
  const after = eol + 2
  switch (type) {
    case '+':
      return { value: line, next: after }
    case '-':
      return { value: new RedisReplyError(line), next: after }
    case ':':
      return { value: Number(line), next: after }
    case '$': {
      const len = Number(line)
      if (len < 0) return { value: null, next: after }
      if (buf.length < after + len + 2) return undefined
      return { value: buf.toString('utf8', after, after + len), next: after + len + 2 }
    }
    case '*': {
      const count = Number(line)
      if (count < 0) return { value: null, next: after }
      const items: RespValue[] = []
      let next = after
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, next)
        if (!item) return undefined
        if (item.value instanceof Error) return { value: item.value, next: item.next }
        items.push(item.value)
        next = item.next
      }
      return { value: items, next }
    }
    default:
      throw new RedisReplyError(`unexpected reply type ${JSON.stringify(type)}`)
  }
}

function encodeCommand(args: readonly (string | number)[]): string {
  let out = `*${args.length}\r\n`
  for (const a of args) {
    const s = String(a)
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`
  }
  return out
}

interface Waiter {
  resolve: (v: RespValue) => void
  reject: (e: Error) => void
}

/**
 * A minimal Redis client (RESP2 over one TCP connection, pipelined): enough for the pacing
 * schedule's few commands. Connects on first use and again after the connection drops; `AUTH`
 * and `SELECT` from the URL (`redis://[:password@]host[:port][/db]`).
 */
export class RespClient {
  readonly #url: URL
  readonly #timeoutMs: number
  #socket: Socket | undefined
  #ready: Promise<void> | undefined
  #waiters: Waiter[] = []
  #buf: Buffer = Buffer.alloc(0)

  constructor(url: string, o: { timeoutMs?: number } = {}) {
    this.#url = new URL(url)
    this.#timeoutMs = o.timeoutMs ?? 5000
  }

  /** Sends one command; rejects with the server's error reply, or when the connection fails. */
  async command(...args: (string | number)[]): Promise<RespValue> {
    await this.#connect()
    return this.#send(args)
  }

  #send(args: readonly (string | number)[]): Promise<RespValue> {
    return new Promise<RespValue>((resolve, reject) => {
      const socket = this.#socket
      if (!socket) return reject(new Error('redis connection closed'))
      this.#waiters.push({ resolve, reject })
      socket.setTimeout(this.#timeoutMs)
      socket.write(encodeCommand(args))
    })
  }

  #connect(): Promise<void> {
    if (this.#ready) return this.#ready
    const ready = new Promise<void>((resolve, reject) => {
      const socket = connect({
        host: this.#url.hostname || '127.0.0.1',
        port: Number(this.#url.port || 6379),
      })
      socket.setNoDelay(true)
      socket.setTimeout(this.#timeoutMs)
      this.#socket = socket
      this.#buf = Buffer.alloc(0)
      socket.on('data', (chunk: Buffer) => this.#onData(chunk))
      socket.on('timeout', () => socket.destroy(new Error('redis request timed out')))
      socket.once('error', (err) => this.#fail(socket, err))
      socket.once('close', () => this.#fail(socket, new Error('redis connection closed')))
      socket.once('connect', () => {
        // Idle between commands is not a timeout: only waiting for an answer is.
        socket.setTimeout(0)
        this.#hello().then(resolve, reject)
      })
      socket.once('error', reject)
    })
    this.#ready = ready
    return ready
  }

  async #hello(): Promise<void> {
    const password = decodeURIComponent(this.#url.password)
    const user = decodeURIComponent(this.#url.username)
    if (password) await this.#send(user ? ['AUTH', user, password] : ['AUTH', password])
    const db = this.#url.pathname.replace(/^\//, '')
    if (db) await this.#send(['SELECT', db])
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk])
    let pos = 0
    for (;;) {
      let parsed: ReturnType<typeof parseReply>
      try {
        parsed = parseReply(this.#buf, pos)
      } catch (err) {
        this.#socket?.destroy(err as Error)
        return
      }
      if (!parsed) break
      pos = parsed.next
      const w = this.#waiters.shift()
      if (parsed.value instanceof Error) w?.reject(parsed.value)
      else w?.resolve(parsed.value)
    }
    this.#buf = pos === this.#buf.length ? Buffer.alloc(0) : this.#buf.subarray(pos)
    // While answers are owed, a silent server is a failure.
    this.#socket?.setTimeout(this.#waiters.length > 0 ? this.#timeoutMs : 0)
  }

  #fail(socket: Socket, err: Error): void {
    if (this.#socket !== socket) return
    this.#socket = undefined
    this.#ready = undefined
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w.reject(err)
    socket.destroy()
  }

  async close(): Promise<void> {
    const socket = this.#socket
    if (!socket) return
    this.#socket = undefined
    this.#ready = undefined
    await new Promise<void>((resolve) => socket.end(resolve))
    socket.destroy()
  }
}

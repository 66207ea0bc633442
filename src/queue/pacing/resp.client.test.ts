import assert from 'node:assert/strict'
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { parseReply, RedisReplyError, RespClient } from './resp.client.js'

test('replies of every RESP2 type parse, and an incomplete one waits for more bytes', () => {
  const buf = Buffer.from(
    '+OK\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n$1\r\na\r\n$-1\r\n-ERR bad\r\n',
  )
  const values: unknown[] = []
  let pos = 0
  for (;;) {
    const r = parseReply(buf, pos)
    if (!r) break
    values.push(r.value instanceof Error ? `error: ${r.value.message}` : r.value)
    pos = r.next
  }
  assert.deepEqual(values, ['OK', 42, 'hello', null, ['a', null], 'error: ERR bad'])
  assert.equal(parseReply(Buffer.from('$5\r\nhel'), 0), undefined)
  assert.equal(parseReply(Buffer.from('*2\r\n:1\r\n'), 0), undefined)
})

/** A server that answers each command line with the replies the test gives, in order. */
async function fakeRedis(answer: (args: string[], socket: Socket) => string) {
  const seen: string[][] = []
  const server = createServer((socket) => {
    let buf = ''
    socket.on('data', (d: Buffer) => {
      buf += d.toString('utf8')
      // Commands arrive as arrays of bulk strings.
      for (;;) {
        const m = /^\*(\d+)\r\n/.exec(buf)
        if (!m) return
        let pos = m[0].length
        const args: string[] = []
        for (let i = 0; i < Number(m[1]); i++) {
          const h = /^\$(\d+)\r\n/.exec(buf.slice(pos))
          if (!h) return
          pos += h[0].length
          args.push(buf.slice(pos, pos + Number(h[1])))
          pos += Number(h[1]) + 2
        }
        if (pos > buf.length) return
        buf = buf.slice(pos)
        seen.push(args)
        socket.write(answer(args, socket))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return { port, seen, close: () => new Promise<void>((r) => server.close(() => r())) }
}

test('commands are pipelined in order, with AUTH and SELECT from the URL first', async () => {
  const redis = await fakeRedis((args) =>
    args[0] === 'GET' ? `$${args[1]!.length}\r\n${args[1]}\r\n` : '+OK\r\n',
  )
  const client = new RespClient(`redis://:s%40cret@127.0.0.1:${redis.port}/3`)
  try {
    const answers = await Promise.all([
      client.command('GET', 'a'),
      client.command('GET', 'bb'),
      client.command('SET', 'k', 'v'),
    ])
    assert.deepEqual(answers, ['a', 'bb', 'OK'])
    assert.deepEqual(redis.seen.slice(0, 2), [
      ['AUTH', 's@cret'],
      ['SELECT', '3'],
    ])
  } finally {
    await client.close()
    await redis.close()
  }
})

test('an error reply rejects its command only; a dropped connection rejects and reconnects', async () => {
  let drops = 1
  const redis = await fakeRedis((args, socket) => {
    if (args[0] === 'BAD') return '-ERR unknown command\r\n'
    if (args[0] === 'DROP' && drops-- > 0) {
      socket.destroy()
      return ''
    }
    return ':1\r\n'
  })
  const client = new RespClient(`redis://127.0.0.1:${redis.port}`)
  try {
    await assert.rejects(client.command('BAD'), (e: unknown) => e instanceof RedisReplyError)
    assert.equal(await client.command('PING'), 1)
    await assert.rejects(client.command('DROP'), /closed/)
    assert.equal(await client.command('PING'), 1)
  } finally {
    await client.close()
    await redis.close()
  }
})

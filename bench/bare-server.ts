/**
 * The ceiling for intake: a bare Fastify app on the same Fastify version as Switchboard, with
 * no logging, auth, validation or storage. `POST /v1/messages` parses the JSON body with
 * Fastify's default parser and answers 202 with a small JSON document.
 *
 * Started by bench/run.ts as its own process; prints `{"url": ...}` on one line once it listens.
 * Env: PORT (default 0 = any free port), HOST (default 127.0.0.1).
 */
import Fastify from 'fastify'

const app = Fastify({ logger: false })

let seq = 0
app.post<{ Body: { to?: unknown; body?: unknown } }>('/v1/messages', async (req, reply) => {
  const { to, body } = req.body
  if (typeof to !== 'string' || typeof body !== 'string') {
    return reply.code(400).send({ error: { code: 'validation_failed' } })
  }
  seq++
  return reply.code(202).send({ id: `msg_${seq}`, to, status: 'queued' })
})

const url = await app.listen({
  port: Number(process.env.PORT ?? 0),
  host: process.env.HOST ?? '127.0.0.1',
})
process.stdout.write(`${JSON.stringify({ url })}\n`)

const stop = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)

/**
 * The local Twilio-speaking server (test/support/fakes/twilio.server.ts) as its own process for
 * the Twilio benchmarks: it answers Create Message like the real API and sends each accepted
 * message's status callbacks, signed with the twilio SDK, to its StatusCallback.
 *
 * Started by bench/run.ts; prints `{"url": ...}` on one line once it listens, and a
 * `{"accepted": n}` line when it stops. Env: TWILIO_FAKE_CALLBACKS (comma-separated status
 * words sent in order, e.g. `sent,delivered`; empty: none), TWILIO_FAKE_ACCOUNT_SID,
 * TWILIO_FAKE_AUTH_TOKEN.
 */
import { TwilioFake } from '../test/support/fakes/twilio.server.js'

const words = (process.env.TWILIO_FAKE_CALLBACKS ?? 'delivered').split(',').filter(Boolean)
const fake = await TwilioFake.start({
  accountSid: process.env.TWILIO_FAKE_ACCOUNT_SID ?? '',
  authToken: process.env.TWILIO_FAKE_AUTH_TOKEN ?? '',
  callbacks: words.map((status) => ({ status })),
  callbackDelayMs: 0,
  record: false,
})
process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`)

const stop = () => {
  process.stdout.write(`${JSON.stringify({ accepted: fake.accepted })}\n`)
  fake.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)

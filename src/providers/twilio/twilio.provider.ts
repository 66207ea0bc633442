import { Agent, type Dispatcher } from 'undici'
import type { OutboundSms, SendResult, SmsProvider, WebhookRequest } from '../provider.js'
import { classifyTwilioAnswer } from './twilio-errors.js'
import { postForm } from './twilio-http.js'
import { handleTwilioWebhook, REF_PARAM } from './twilio-webhook.js'

/** Twilio keeps a message queued at most this long (its `ValidityPeriod` default and maximum). */
export const TWILIO_MAX_VALIDITY_S = 36_000

export interface TwilioProviderOptions {
  readonly name: string
  /** `AC` + 32 hex digits. */
  readonly accountSid: string
  readonly authToken: string
  /** `MG` + 32 hex digits: the sender of messages without `from`. */
  readonly messagingServiceSid?: string | undefined
  /** Default `https://api.twilio.com`; a loopback server that speaks the same API in tests. */
  readonly baseUrl: string
  /** `{PUBLIC_URL}/webhooks/{name}/status`, passed as `StatusCallback` with every send. */
  readonly statusCallbackUrl: string
  readonly now: () => number
  /** Keep-alive connections to Twilio. Default 64. */
  readonly connections?: number
  /** Another dispatcher (tests); by default a keep-alive undici Agent. */
  readonly dispatcher?: Dispatcher
}

/**
 * The form of one send: `To`, `From` (or, without one, the instance's `MessagingServiceSid`),
 * `Body`, `StatusCallback` carrying our message id, and `ValidityPeriod` when the message must
 * not wait in Twilio's queue as long as Twilio would keep it. Null when there is no sender.
 */
export function twilioSendForm(
  sms: OutboundSms,
  o: Pick<TwilioProviderOptions, 'messagingServiceSid' | 'statusCallbackUrl'>,
  nowMs: number,
): URLSearchParams | null {
  const form = new URLSearchParams({ To: sms.to })
  if (sms.from) form.set('From', sms.from)
  else if (o.messagingServiceSid) form.set('MessagingServiceSid', o.messagingServiceSid)
  else return null
  form.set('Body', sms.body)
  const sep = o.statusCallbackUrl.includes('?') ? '&' : '?'
  form.set(
    'StatusCallback',
    `${o.statusCallbackUrl}${sep}${REF_PARAM}=${encodeURIComponent(sms.id)}`,
  )
  // Whole seconds left, rounded down so Twilio never holds it past our validity; at least 1,
  // Twilio's minimum.
  const left = Math.floor((sms.validUntil - nowMs) / 1000)
  if (left < TWILIO_MAX_VALIDITY_S) form.set('ValidityPeriod', String(Math.max(1, left)))
  return form
}

/**
 * Twilio Programmable Messaging over its REST API: a form POST to
 * `/2010-04-01/Accounts/{AccountSid}/Messages.json` with basic auth, through a keep-alive
 * undici Agent; answers classified in {@link classifyTwilioAnswer}; status callbacks and
 * inbound messages verified by X-Twilio-Signature.
 *
 * @example
 * const twilio = createTwilioProvider({ name: 'twilio-us', accountSid, authToken,
 *   baseUrl: 'https://api.twilio.com', statusCallbackUrl, now: Date.now })
 */
export function createTwilioProvider(o: TwilioProviderOptions): SmsProvider {
  const base = new URL(o.baseUrl)
  const origin = base.origin
  const path = `${base.pathname.replace(/\/+$/, '')}/2010-04-01/Accounts/${o.accountSid}/Messages.json`
  const headers = {
    authorization: `Basic ${Buffer.from(`${o.accountSid}:${o.authToken}`).toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
    'user-agent': 'switchboard',
  }
  let agent: Agent | undefined
  const dispatcher = (): Dispatcher =>
    o.dispatcher ??
    (agent ??= new Agent({ connections: o.connections ?? 64, keepAliveTimeout: 10_000 }))

  return {
    name: o.name,
    type: 'twilio',
    // Twilio has no idempotency key for messages: a resend after a lost answer may send twice.
    deduplicates: false,
    async send(sms: OutboundSms, signal: AbortSignal): Promise<SendResult> {
      const form = twilioSendForm(sms, o, o.now())
      if (form === null) {
        // What Twilio itself answers (21603), without asking it.
        return {
          outcome: 'rejected',
          code: 'provider_rejected',
          message: 'no sender: the message has no from and the instance no messagingServiceSid',
        }
      }
      const body = Buffer.from(form.toString(), 'utf8')
      const answer = await postForm(dispatcher(), { origin, path, headers, body }, signal)
      return classifyTwilioAnswer(answer, o.now())
    },
    async stop(): Promise<void> {
      const closing = agent
      agent = undefined
      await closing?.close()
    },
    handleWebhook: (req: WebhookRequest) => handleTwilioWebhook(o.authToken, req, o.now()),
  }
}

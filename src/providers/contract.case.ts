/**
 * Shared, provider-neutral contract suite for SMS provider adapters. Each adapter's test
 * file calls {@link runProviderContract} with a harness that puts the adapter in front of a
 * fake upstream (an in-process fake, a local HTTP server...) it can steer.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type {
  OutboundSms,
  ProviderErrorCode,
  ProviderEvent,
  SmsProvider,
  WebhookRequest,
} from './provider.js'

/** Answers the fake upstream can be told to give. */
export type UpstreamAnswer = 'accepted' | 'transient' | 'rate_limited' | 'permanent' | 'auth_failed'

/** Names of the contract checks, for explicit skips. */
export type ContractCheck =
  | 'accepted'
  | 'transient'
  | 'rate_limited'
  | 'permanent'
  | 'auth_failed'
  | 'delivery_report'
  | 'webhook_signature'

export interface ContractHarness {
  readonly provider: SmsProvider
  /**
   * Arranges for the upstream to give `answer` and returns a message whose next send gets
   * it (by destination, by a queued canned response... as the harness sees fit).
   */
  arrange(answer: UpstreamAnswer): Promise<OutboundSms> | OutboundSms
  /**
   * Makes the upstream report delivery of an accepted message. Webhook providers resolve
   * with the webhook request exactly as received; push providers resolve with nothing and
   * the events arrive through the sink given to `provider.start()`.
   */
  deliveryReport(sent: {
    sms: OutboundSms
    providerMessageId: string
  }): Promise<WebhookRequest | undefined>
  /** Retry-After the upstream sends for `rate_limited`, as the adapter must report it (ms). */
  readonly expectedRetryAfterMs?: number
  /** Codes the adapter documents for the `permanent` answer. Default `['invalid_number']`. */
  readonly permanentCodes?: readonly ProviderErrorCode[]
  /** Whether status events carry our message id. Default true. */
  readonly echoesMessageId?: boolean
  /** Checks this adapter cannot run, each with the reason. */
  readonly skip?: Partial<Record<ContractCheck, string>>
  close(): Promise<void>
}

const RETRYABLE: readonly ProviderErrorCode[] = [
  'provider_unavailable',
  'provider_rate_limited',
  'provider_timeout',
  'provider_connection_error',
]
const TEST_TIMEOUT_MS = 10_000
const REPORT_WAIT_MS = 5_000

async function waitFor<T>(probe: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined || Date.now() >= deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

function tamper(req: WebhookRequest): WebhookRequest {
  const rawBody = Buffer.from(req.rawBody)
  const i = Math.floor(rawBody.length / 2)
  rawBody[i] = (rawBody[i] ?? 0) ^ 0x01
  return { ...req, rawBody }
}

/**
 * Registers the provider contract tests under `describe(name)`. `setup` runs once before
 * the checks and `harness.close()` once after them.
 */
export function runProviderContract(name: string, setup: () => Promise<ContractHarness>): void {
  void describe(`provider contract: ${name}`, () => {
    let h: ContractHarness
    const events: ProviderEvent[] = []
    const signal = (): AbortSignal => AbortSignal.timeout(TEST_TIMEOUT_MS / 2)

    before(async () => {
      h = await setup()
      await h.provider.start?.((_provider, batch) => events.push(...batch))
    })
    after(async () => {
      await h.provider.stop?.()
      await h.close()
    })

    const implicitSkip = (id: ContractCheck): string | undefined =>
      id === 'webhook_signature' && !h.provider.handleWebhook
        ? 'provider has no handleWebhook: its reports do not arrive by webhook'
        : undefined

    const check = (id: ContractCheck, title: string, fn: () => Promise<void>): void => {
      void test(title, { timeout: TEST_TIMEOUT_MS }, async (t) => {
        const reason = h.skip?.[id] ?? implicitSkip(id)
        if (reason !== undefined) return t.skip(reason)
        await fn()
      })
    }

    const sendAccepted = async () => {
      const sms = await h.arrange('accepted')
      const result = await h.provider.send(sms, signal())
      assert.equal(result.outcome, 'accepted')
      return { sms, providerMessageId: result.providerMessageIds[0] }
    }

    check('accepted', 'accepted send returns a non-empty providerMessageId', async () => {
      const { providerMessageId } = await sendAccepted()
      assert.equal(typeof providerMessageId, 'string')
      assert.ok(providerMessageId.length > 0)
    })

    check('transient', 'transient upstream failure is a retry with a retryable code', async () => {
      const result = await h.provider.send(await h.arrange('transient'), signal())
      assert.equal(result.outcome, 'retry')
      assert.ok(RETRYABLE.includes(result.code), `unexpected code ${result.code}`)
    })

    check('rate_limited', 'rate limiting is a retry with `after` in milliseconds', async () => {
      const result = await h.provider.send(await h.arrange('rate_limited'), signal())
      assert.equal(result.outcome, 'retry')
      assert.equal(result.code, 'provider_rate_limited')
      assert.equal(typeof result.after, 'number')
      assert.ok((result.after ?? 0) > 0)
      if (h.expectedRetryAfterMs !== undefined) assert.equal(result.after, h.expectedRetryAfterMs)
    })

    check('permanent', 'permanent failure is rejected with a documented code', async () => {
      const result = await h.provider.send(await h.arrange('permanent'), signal())
      assert.equal(result.outcome, 'rejected')
      assert.ok((h.permanentCodes ?? ['invalid_number']).includes(result.code))
    })

    // Credentials the provider refuses are the instance's fault, not the message's: each send
    // is a retry that opens the instance's circuit (the harness may answer 401 and 403 in turn).
    check('auth_failed', 'refused credentials are a fault of the instance', async () => {
      for (let i = 0; i < 2; i++) {
        const result = await h.provider.send(await h.arrange('auth_failed'), signal())
        assert.deepEqual(
          {
            outcome: result.outcome,
            code: result.outcome === 'accepted' ? '' : result.code,
            fault: result.outcome === 'retry' ? result.fault : undefined,
          },
          { outcome: 'retry', code: 'provider_auth_failed', fault: 'instance' },
        )
      }
    })

    check('delivery_report', 'a delivery report yields one status event', async () => {
      const sent = await sendAccepted()
      const request = await h.deliveryReport(sent)
      const mine = (list: ProviderEvent[]) =>
        list.filter((e) => e.type === 'status' && e.providerMessageId === sent.providerMessageId)
      let found: ProviderEvent[]
      if (request !== undefined) {
        const outcome = h.provider.handleWebhook?.(request)
        assert.ok(outcome, 'webhook delivered but provider has no handleWebhook')
        assert.ok(outcome.verified, 'webhook signature rejected')
        found = mine(outcome.events)
      } else {
        found =
          (await waitFor(() => {
            const list = mine(events)
            return list.length > 0 ? list : undefined
          }, REPORT_WAIT_MS)) ?? []
      }
      assert.equal(found.length, 1, 'expected exactly one status event')
      const event = found[0]
      assert.ok(event?.type === 'status')
      assert.equal(event.providerMessageId, sent.providerMessageId)
      if (h.echoesMessageId ?? true) assert.equal(event.messageId, sent.sms.id)
      assert.ok(Number.isFinite(event.at))
    })

    check('webhook_signature', 'webhook signature: valid accepted, tampered rejected', async () => {
      const request = await h.deliveryReport(await sendAccepted())
      assert.ok(request, 'webhook provider harness must resolve deliveryReport with the request')
      assert.equal(h.provider.handleWebhook?.(request).verified, true)
      assert.equal(h.provider.handleWebhook?.(tamper(request)).verified, false)
    })
  })
}

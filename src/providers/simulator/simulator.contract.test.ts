import { runProviderContract, type UpstreamAnswer } from '../contract.case.js'
import type { SimulatorRule } from './simulator-options.js'
import { createSimulatorHttpProvider } from './simulator-http.provider.js'
import { createSimulatorProvider } from './simulator.provider.js'
import { startSimulatorServer } from './simulator.server.js'
import { makeSms, startReceiver, waitFor } from './test-helpers.js'

const DESTINATION: Record<UpstreamAnswer, string> = {
  accepted: '+15559990001',
  transient: '+15550000001',
  rate_limited: '+15550010001',
  permanent: '+15550020001',
  auth_failed: '+15550040001',
}

const RULES: SimulatorRule[] = [
  { match: '+1555000', outcome: 'server_error' },
  { match: '+1555001', outcome: 'rate_limited' },
  { match: '/^\\+1555002\\d+$/', outcome: 'invalid_number' },
]

runProviderContract('simulator (in-process)', async () => {
  const provider = createSimulatorProvider({ dlrDelayMs: 5, retryAfterMs: 1500, rules: RULES })
  return {
    provider,
    arrange: (answer) => makeSms(DESTINATION[answer]),
    // Reports are produced by the simulator on its own and pushed through start(sink).
    deliveryReport: async () => undefined,
    expectedRetryAfterMs: 1500,
    skip: { auth_failed: 'the in-process simulator has no credentials to refuse' },
    close: async () => provider.core.close(),
  }
})

runProviderContract('simulator (HTTP)', async () => {
  const webhookSecret = 'contract-secret'
  const receiver = await startReceiver()
  const server = await startSimulatorServer({
    webhookSecret,
    callbackUrl: receiver.url,
    dlrDelayMs: 5,
    retryAfterMs: 1500,
    rules: RULES,
  })
  // The simulator server takes no credentials: a gateway in front of it refuses ours for
  // the auth_failed destination, with 401 and 403 in turn; everything else goes through.
  let refusals = 0
  const gateway: typeof fetch = async (input, init) => {
    const body = JSON.parse(typeof init?.body === 'string' ? init.body : '{}') as { to?: string }
    if (body.to !== DESTINATION.auth_failed) return fetch(input, init)
    const status = refusals++ % 2 === 0 ? 401 : 403
    return new Response(JSON.stringify({ code: 'unauthorized' }), { status })
  }
  const provider = createSimulatorHttpProvider({
    name: 'simulator-http',
    url: server.url,
    webhookSecret,
    timeoutMs: 2000,
    fetch: gateway,
  })
  return {
    provider,
    arrange: (answer) => makeSms(DESTINATION[answer]),
    deliveryReport: async ({ providerMessageId }) => {
      const request = await waitFor(() =>
        receiver.requests.find((r) => r.rawBody.toString('utf8').includes(providerMessageId)),
      )
      if (!request) throw new Error('no delivery report callback arrived')
      return request
    },
    // Retry-After travels in whole seconds: 1500 ms becomes "2".
    expectedRetryAfterMs: 2000,
    close: async () => {
      await server.close()
      await receiver.close()
    },
  }
})

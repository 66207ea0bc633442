import type { CallbackUrls } from './provider.js'
import { callbackAuth, type ProviderSettings } from './registry.js'

/** What stands for the token where callback URLs are shown (`GET /v1/providers`). */
export const MASKED_TOKEN = '…'

/**
 * An instance's callback URLs, `{PUBLIC_URL}/webhooks/{name}/status|inbound`, with `?token=`
 * for an instance that authenticates its callbacks by token.
 */
export function callbackUrlsOf(
  publicUrl: string,
  settings: ProviderSettings,
  token: string,
): CallbackUrls {
  const base = `${publicUrl}/webhooks/${settings.name}`
  const query = callbackAuth(settings) === 'token' ? `?token=${token}` : ''
  return { status: `${base}/status${query}`, inbound: `${base}/inbound${query}` }
}

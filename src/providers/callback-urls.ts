import { randomBytes } from 'node:crypto'
import type { CallbackUrls } from './provider.js'
import { callbackAuth, type ProviderSettings } from './registry.js'

/** Where a provider instance's random callback token is kept (made once, then reused). */
export const callbackTokenSetting = (name: string): string => `provider_callback_token:${name}`

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

/**
 * An instance's callback URLs and its callback token: random, made the first time and kept in
 * the settings table, so every process, restart and `switchboard providers urls` agree.
 * Instances that cannot sign get it as `?token=`.
 */
export async function providerCallbacks(
  publicUrl: string,
  settings: ProviderSettings,
  store: { initSetting(key: string, value: string): Promise<string> },
): Promise<{ callbackUrls: CallbackUrls; callbackToken: string; auth: string }> {
  const callbackToken = await store.initSetting(
    callbackTokenSetting(settings.name),
    randomBytes(24).toString('base64url'),
  )
  return {
    callbackUrls: callbackUrlsOf(publicUrl, settings, callbackToken),
    callbackToken,
    auth: callbackAuth(settings),
  }
}

import { randomBytes } from 'node:crypto'
import type { CallbackUrls } from './provider.js'
import { callbackAuth, type ProviderSettings } from './registry.js'

/** Where a provider instance's random callback token is kept (made once, then reused). */
export const callbackTokenSetting = (name: string): string => `provider_callback_token:${name}`

/**
 * An instance's callback URLs, `{PUBLIC_URL}/webhooks/{name}/status|inbound`, and its callback
 * token: random, made the first time and kept in the settings table, so every process, restart
 * and `switchboard providers urls` agree. Instances that cannot sign get it as `?token=`.
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
  const auth = callbackAuth(settings)
  const base = `${publicUrl}/webhooks/${settings.name}`
  const query = auth === 'token' ? `?token=${callbackToken}` : ''
  return {
    callbackUrls: { status: `${base}/status${query}`, inbound: `${base}/inbound${query}` },
    callbackToken,
    auth,
  }
}

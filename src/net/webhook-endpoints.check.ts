import { ConfigError, type Config } from '../config.js'
import { maskUserInfo } from '../domain/webhooks/callback-url.js'
import {
  checkedAddress,
  DestinationNotAllowedError,
  systemResolver,
  type Resolver,
} from './destination-guard.js'

/**
 * The boot check of WEBHOOK_ENDPOINTS that needs DNS: an endpoint whose host name resolves to
 * an address webhooks may not reach is a configuration error (every problem reported at once,
 * as loadConfig does), unless WEBHOOK_ALLOW_PRIVATE is set. A name that does not resolve now
 * is only a warning: DNS may be back by the first delivery, which is checked again anyway.
 */
export async function checkWebhookEndpoints(
  config: Config,
  o: { resolve?: Resolver; warn?: (message: string) => void } = {},
): Promise<void> {
  if (config.webhooks.allowPrivate) return
  const resolve = o.resolve ?? systemResolver
  const problems: string[] = []
  await Promise.all(
    config.webhooks.endpoints.map(async (e) => {
      const shown = maskUserInfo(e.url)
      try {
        await checkedAddress(new URL(e.url).hostname, resolve)
      } catch (err) {
        if (err instanceof DestinationNotAllowedError) {
          problems.push(
            `WEBHOOK_ENDPOINTS: ${shown} resolves to a ${err.reason} address (set WEBHOOK_ALLOW_PRIVATE=true to allow it in development)`,
          )
        } else {
          o.warn?.(`webhook endpoint ${shown} does not resolve now; deliveries will retry`)
        }
      }
    }),
  )
  if (problems.length > 0) throw new ConfigError(problems.sort())
}

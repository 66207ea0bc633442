import type { FastifyInstance, RouteOptions } from 'fastify'
import type { Scope } from '../domain/keys/api-keys.js'
import type { AppContext } from './context.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The scope an API key needs for this route. Every route under /v1 declares one; routes
     * without it (health, docs, provider webhooks) are public.
     */
    scope?: Scope
  }
  interface FastifyRequest {
    /**
     * The authenticated API key, or the user (`usr_...`) of a dashboard session (routes with a
     * scope only).
     */
    apiKeyId: string
  }
}

/** Routes under this prefix must declare a scope: a route cannot be public by omission. */
const PROTECTED_PREFIX = '/v1/'

/**
 * Authentication and scopes, enforced by one hook for every route that declares a scope. It
 * runs on `onRequest`, before the body is parsed and before any validation, so a request
 * without a valid key (or session cookie) learns nothing about the route (401), and one without
 * the scope (or, in a session, the CSRF token) nothing more than that (403).
 */
export function registerAccessControl(app: FastifyInstance, ctx: AppContext): void {
  app.decorateRequest('apiKeyId', '')
  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.url.startsWith(PROTECTED_PREFIX) && route.config?.scope === undefined) {
      throw new Error(`route ${route.method.toString()} ${route.url} declares no scope`)
    }
  })
  app.addHook('onRequest', async (req) => {
    const scope = req.routeOptions.config.scope
    if (scope === undefined) return
    req.apiKeyId = await ctx.auth.authenticate(req, scope)
  })
}

import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { UserRow } from '../store/schema.js'
import { login, LoginLimiter } from '../usecases/users.js'
import { SESSION_COOKIE } from './auth.js'
import type { AppContext } from './context.js'

const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
)
type LoginBody = Static<typeof LoginBody>

const SessionView = Type.Object({
  user: Type.Union([Type.Object({ email: Type.String(), role: Type.String() }), Type.Null()]),
  csrfToken: Type.Union([Type.String(), Type.Null()]),
})

const userView = (u: UserRow) => ({ email: u.email, role: u.role })

/** Cookies are `Secure` when the request came over HTTPS or the public URL is https. */
export function isSecure(protocol: string, publicUrl: string): boolean {
  return protocol === 'https' || publicUrl.startsWith('https:')
}

/** `Secure` when the request came over HTTPS or the server's public URL is https. */
function cookie(
  req: FastifyRequest,
  ctx: Pick<AppContext, 'config'>,
  value: string,
  maxAge: number,
) {
  const secure = isSecure(req.protocol, ctx.config.publicUrl)
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure ? '; Secure' : ''}`
}

function clearCookie(req: FastifyRequest, reply: FastifyReply, ctx: Pick<AppContext, 'config'>) {
  void reply.header('set-cookie', cookie(req, ctx, '', 0))
}

/**
 * The dashboard's sign-in (docs/dashboard-auth.md): outside /v1, since programs use API keys.
 * These routes declare no scope; each checks the session itself. They are left out of the
 * OpenAPI document (a program has no use for them; docs/dashboard-auth.md describes them).
 */
export function authRoutes(app: FastifyInstance, ctx: AppContext): void {
  const limiter = new LoginLimiter()
  const ttlMs = ctx.config.sessionTtlHours * 3_600_000

  app.post<{ Body: LoginBody }>(
    '/auth/login',
    {
      schema: {
        summary: 'Sign in to the dashboard: sets the sb_session cookie',
        hide: true,
        tags: ['dashboard'],
        body: LoginBody,
        response: { 200: SessionView },
      },
    },
    async (req, reply) => {
      const s = await login(
        { store: ctx.store, now: ctx.now, limiter, ttlMs },
        { email: req.body.email, password: req.body.password, ip: req.ip },
      )
      void reply.header('set-cookie', cookie(req, ctx, s.token, Math.floor(ttlMs / 1000)))
      void reply.header('cache-control', 'no-store')
      return { user: userView(s.user), csrfToken: s.csrfToken }
    },
  )

  app.get(
    '/auth/session',
    {
      schema: {
        summary: 'The signed-in user and the session CSRF token',
        hide: true,
        tags: ['dashboard'],
        response: { 200: SessionView },
      },
    },
    async (req, reply) => {
      const found = await ctx.auth.session(req)
      void reply.header('cache-control', 'no-store')
      // No live session is an answer, not an error: the dashboard asks on every load.
      if (!found) return { user: null, csrfToken: null }
      return { user: userView(found.user), csrfToken: found.session.csrf_token }
    },
  )

  app.post(
    '/auth/logout',
    {
      schema: {
        summary: 'Sign out: revokes the session (needs X-CSRF-Token)',
        hide: true,
        tags: ['dashboard'],
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const found = await ctx.auth.session(req)
      if (found) {
        ctx.auth.checkCsrf(req, found.session)
        await ctx.store.users.revokeSession(found.session.id, ctx.now())
      }
      clearCookie(req, reply, ctx)
      return reply.code(204).send()
    },
  )
}

/** The users API lives in users.routes.ts; app.ts registers it under /v1 from here. */
export { userRoutes } from './users.routes.js'

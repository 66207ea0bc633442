import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import { sendError } from './error-handler.js'

/** Where `vite build` puts the dashboard: `dist/web` at the package root (src/ or dist/ alike). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url))

/** Paths that belong to the API, its docs and the provider callbacks, never to the dashboard. */
const NOT_DASHBOARD = /^\/(v1|auth|webhooks|docs|openapi\.json|healthz|readyz)(\/|$|\?)/

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
}

/** Hashed build output never changes under its name: cached for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable'
/** index.html and the unhashed files (favicon) are revalidated on every load. */
const REVALIDATE = 'no-cache'

/**
 * The dashboard's pages run only what the server sent: no inline script, no other origin.
 * Styles allow inline attributes (charts size their canvases with them).
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ')

interface StaticFile {
  body: Buffer
  gzip: Buffer | null
  type: string
  etag: string
  cacheControl: string
}

function walk(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...walk(p))
    else out.push(p)
  }
  return out
}

/** Reads the built dashboard into memory (a few hundred KB), gzipped once, at start. */
export function loadDashboard(dir = DASHBOARD_DIR): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>()
  if (!existsSync(join(dir, 'index.html'))) return files
  for (const path of walk(dir)) {
    const url = '/' + relative(dir, path).split(sep).join('/')
    const body = readFileSync(path)
    const type = TYPES[extname(path)] ?? 'application/octet-stream'
    const compressible = /text|javascript|json|svg/.test(type) && body.length > 512
    files.set(url, {
      body,
      gzip: compressible ? gzipSync(body, { level: 9 }) : null,
      type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      cacheControl: url.startsWith('/assets/') ? IMMUTABLE : REVALIDATE,
    })
  }
  return files
}

function send(req: FastifyRequest, reply: FastifyReply, f: StaticFile) {
  void reply
    .header('content-type', f.type)
    .header('cache-control', f.cacheControl)
    .header('etag', f.etag)
    .header('x-content-type-options', 'nosniff')
    .header('vary', 'accept-encoding')
  if (f.type.startsWith('text/html')) {
    void reply
      .header('content-security-policy', CSP)
      .header('referrer-policy', 'same-origin')
      .header('x-frame-options', 'DENY')
  }
  if (req.headers['if-none-match'] === f.etag) return reply.code(304).send()
  const gz = f.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
  if (gz) void reply.header('content-encoding', 'gzip')
  return reply.send(gz ? f.gzip : f.body)
}

/** A browser asking for a page (not a script or an API client asking for JSON). */
function wantsPage(req: FastifyRequest): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false
  if (NOT_DASHBOARD.test(req.url)) return false
  return String(req.headers.accept ?? '').includes('text/html')
}

/**
 * Serves the dashboard (web/, built into dist/web) at `/`: its files by name, and index.html for
 * every other page a browser asks for, so `/messages/msg_...` loads the app, which routes itself.
 * The API's own 404 (JSON `route_not_found`) is unchanged for everything else.
 *
 * @returns the handler for requests no route matched: answers a page or returns false.
 */
export function registerDashboard(
  app: FastifyInstance,
  files = loadDashboard(),
): (req: FastifyRequest, reply: FastifyReply) => boolean {
  const index = files.get('/index.html')
  for (const [url, f] of files) {
    if (url === '/index.html') continue
    app.get(url, { schema: { hide: true } }, (req, reply) => send(req, reply, f))
  }
  app.get('/', { schema: { hide: true } }, (req, reply) => {
    if (!index) throw new AppError(errors.dashboard_not_built)
    return send(req, reply, index)
  })
  return (req, reply) => {
    if (!wantsPage(req)) return false
    if (index) void send(req, reply, index)
    else sendError(new AppError(errors.dashboard_not_built), req, reply)
    return true
  }
}

/**
 * Webhook URLs with user info (`https://user:pass@host/...`): the user info is sent as HTTP
 * Basic authentication, as Twilio does, and the secret part is masked wherever the URL is
 * shown (API answers, webhook payloads, the delivery log).
 */

const MASK = '****'

/** Start and end of the user info in `url` (before the `@`), or undefined when it has none. */
function userInfoSpan(url: string): [number, number] | undefined {
  const scheme = url.indexOf('://')
  if (scheme < 0) return undefined
  const start = scheme + 3
  let end = url.length
  for (let i = start; i < url.length; i++) {
    const c = url[i]
    if (c === '/' || c === '\\' || c === '?' || c === '#') {
      end = i
      break
    }
  }
  const at = url.lastIndexOf('@', end - 1)
  return at >= start ? [start, at] : undefined
}

/**
 * The URL to show: the password replaced by `****` (`https://user:****@host/x`), or, when
 * there is only a user name (which is then the credential), that name. The rest is kept as
 * given. Cheap for the usual URL without `@`.
 */
export function maskUserInfo(url: string): string
export function maskUserInfo(url: string | null): string | null
export function maskUserInfo(url: string | null): string | null {
  if (url === null || !url.includes('@')) return url
  const span = userInfoSpan(url)
  if (!span) return url
  const [start, at] = span
  const colon = url.indexOf(':', start)
  const keep = colon >= 0 && colon < at ? colon + 1 : start
  return `${url.slice(0, keep)}${MASK}${url.slice(at)}`
}

/**
 * The URL to request (user info removed) and the `authorization` header it asks for, if
 * any: `Basic base64(user:password)` with both parts percent-decoded.
 */
export function splitUserInfo(url: string): { url: string; authorization: string | undefined } {
  if (!url.includes('@')) return { url, authorization: undefined }
  const u = new URL(url)
  if (u.username === '' && u.password === '') return { url, authorization: undefined }
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s)
    } catch {
      return s
    }
  }
  const credentials = `${decode(u.username)}:${decode(u.password)}`
  u.username = ''
  u.password = ''
  return {
    url: u.toString(),
    authorization: `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`,
  }
}

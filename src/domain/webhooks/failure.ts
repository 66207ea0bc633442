/**
 * Why a webhook attempt got no HTTP answer, as recorded in the attempt log. Only these words
 * are stored and shown, never an error's text: the text would name the address and port
 * tried and what answered there, which turns the delivery log into a port scanner.
 */
export const DELIVERY_FAILURES = [
  'destination_not_allowed',
  'dns_error',
  'connection_refused',
  'connection_reset',
  'host_unreachable',
  'timeout',
  'tls_error',
  'invalid_response',
  'invalid_url',
  'no_signing_secret',
  'request_failed',
  'endpoint_removed',
] as const
export type DeliveryFailure = (typeof DELIVERY_FAILURES)[number]

const BY_CODE: Record<string, DeliveryFailure> = {
  ERR_DESTINATION_NOT_ALLOWED: 'destination_not_allowed',
  ERR_DESTINATION_DNS: 'dns_error',
  ENOTFOUND: 'dns_error',
  EAI_AGAIN: 'dns_error',
  EAI_FAIL: 'dns_error',
  EAI_NODATA: 'dns_error',
  EAI_NONAME: 'dns_error',
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  UND_ERR_SOCKET: 'connection_reset',
  EHOSTUNREACH: 'host_unreachable',
  ENETUNREACH: 'host_unreachable',
  EHOSTDOWN: 'host_unreachable',
  ENETDOWN: 'host_unreachable',
  EADDRNOTAVAIL: 'host_unreachable',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ERR_INVALID_URL: 'invalid_url',
  UND_ERR_INVALID_ARG: 'invalid_url',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'invalid_response',
  UND_ERR_RES_EXCEEDED_MAX_SIZE: 'invalid_response',
}

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/

function classifyOne(err: unknown): DeliveryFailure | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const { name, code } = err as { name?: unknown; code?: unknown }
  if (name === 'TimeoutError') return 'timeout' // AbortSignal.timeout
  if (typeof code !== 'string') return undefined
  if (code in BY_CODE) return BY_CODE[code]
  if (TLS_CODE.test(code)) return 'tls_error'
  if (code.startsWith('HPE_')) return 'invalid_response' // HTTP parser
  return undefined
}

/** The recorded reason for an error thrown by an attempt (its `cause` chain is read too). */
export function classifyDeliveryError(err: unknown): DeliveryFailure {
  let e: unknown = err
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const found = classifyOne(e)
    if (found) return found
    e = (e as { cause?: unknown }).cause
  }
  return 'request_failed'
}

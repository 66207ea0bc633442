import assert from 'node:assert/strict'
import { test } from 'node:test'
import { classifyDeliveryError, DELIVERY_FAILURES } from './failure.js'

const coded = (code: string, message = `${code} 10.0.0.1:3999`) =>
  Object.assign(new Error(message), { code })

test('attempt errors become a reason from the documented list, whatever their text', () => {
  const cases: [unknown, string][] = [
    [coded('ERR_DESTINATION_NOT_ALLOWED'), 'destination_not_allowed'],
    [coded('ENOTFOUND'), 'dns_error'],
    [coded('EAI_AGAIN'), 'dns_error'],
    [coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:3999'), 'connection_refused'],
    [coded('ECONNRESET'), 'connection_reset'],
    [coded('UND_ERR_SOCKET'), 'connection_reset'],
    [coded('EHOSTUNREACH'), 'host_unreachable'],
    [coded('ENETUNREACH'), 'host_unreachable'],
    [coded('UND_ERR_CONNECT_TIMEOUT'), 'timeout'],
    [coded('UND_ERR_HEADERS_TIMEOUT'), 'timeout'],
    [coded('ETIMEDOUT'), 'timeout'],
    [new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'timeout'],
    [coded('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls_error'],
    [coded('DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls_error'],
    [coded('CERT_HAS_EXPIRED'), 'tls_error'],
    [coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'tls_error'],
    [coded('ERR_SSL_WRONG_VERSION_NUMBER'), 'tls_error'],
    [coded('HPE_INVALID_CONSTANT'), 'invalid_response'],
    [coded('ERR_INVALID_URL'), 'invalid_url'],
    // Wrapped errors are classified by their cause.
    [new TypeError('fetch failed', { cause: coded('ECONNREFUSED') }), 'connection_refused'],
    [new Error('something else'), 'request_failed'],
    ['a string', 'request_failed'],
    [null, 'request_failed'],
  ]
  for (const [err, reason] of cases) {
    assert.equal(classifyDeliveryError(err), reason, String(err))
    assert.ok((DELIVERY_FAILURES as readonly string[]).includes(reason))
  }
})

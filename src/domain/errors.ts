/**
 * The one registry of API error codes. Every code here is documented in docs/errors.md
 * (a test checks it), and every error response is `{ error: { code, message, details? } }`.
 *
 * @example
 * throw new AppError(errors.invalid_phone_number, { field: 'to' })
 */
export interface ErrorDef {
  readonly code: string
  readonly status: number
  readonly message: string
}

function defineError(code: string, status: number, message: string): ErrorDef {
  return Object.freeze({ code, status, message })
}

export const errors = {
  invalid_json: defineError('invalid_json', 400, 'The request body is not valid JSON'),
  invalid_request: defineError('invalid_request', 400, 'The request is malformed'),
  invalid_idempotency_key: defineError(
    'invalid_idempotency_key',
    400,
    'The Idempotency-Key header must be 1 to 255 printable ASCII characters',
  ),
  unauthorized: defineError('unauthorized', 401, 'A valid API key is required'),
  invalid_credentials: defineError(
    'invalid_credentials',
    401,
    'The e-mail address or the password is wrong',
  ),
  csrf_token_invalid: defineError(
    'csrf_token_invalid',
    403,
    'A request signed in with a session cookie needs its X-CSRF-Token header',
  ),
  insufficient_scope: defineError(
    'insufficient_scope',
    403,
    'The API key lacks the required scope',
  ),
  invalid_signature: defineError(
    'invalid_signature',
    403,
    'The webhook signature is missing or does not verify',
  ),
  verification_country_not_allowed: defineError(
    'verification_country_not_allowed',
    403,
    'Verification codes are not sent to this country (VERIFY_COUNTRIES)',
  ),
  verification_blocked: defineError(
    'verification_blocked',
    403,
    'Verification codes to this destination are blocked for a while (abuse protection)',
  ),
  not_found: defineError('not_found', 404, 'The resource does not exist'),
  route_not_found: defineError('route_not_found', 404, 'No such route'),
  template_not_found: defineError('template_not_found', 404, 'No template has this name'),
  template_version_not_found: defineError(
    'template_version_not_found',
    404,
    'The template has no such version in the locale the send resolved to',
  ),
  verification_not_found: defineError(
    'verification_not_found',
    404,
    'No pending verification matches (none, or it was already approved)',
  ),
  method_not_allowed: defineError('method_not_allowed', 405, 'Method not allowed on this route'),
  message_not_cancelable: defineError(
    'message_not_cancelable',
    409,
    'Only scheduled or queued messages can be canceled',
  ),
  webhook_secret_configured: defineError(
    'webhook_secret_configured',
    409,
    'WEBHOOK_SECRET is set in the configuration; change it there to rotate it',
  ),
  idempotency_request_in_progress: defineError(
    'idempotency_request_in_progress',
    409,
    'A request with this Idempotency-Key is still being processed',
  ),
  verification_expired: defineError(
    'verification_expired',
    410,
    'The verification expired; start a new one',
  ),
  payload_too_large: defineError('payload_too_large', 413, 'The request body is too large'),
  unsupported_media_type: defineError(
    'unsupported_media_type',
    415,
    'Content-Type must be application/json',
  ),
  validation_failed: defineError('validation_failed', 422, 'The request failed validation'),
  invalid_phone_number: defineError(
    'invalid_phone_number',
    422,
    'The phone number is not a valid, dialable number',
  ),
  segment_limit_exceeded: defineError(
    'segment_limit_exceeded',
    422,
    'The message body needs more segments than allowed',
  ),
  destination_not_allowed: defineError(
    'destination_not_allowed',
    422,
    'The destination is not allowed on this server',
  ),
  invalid_sender: defineError(
    'invalid_sender',
    422,
    'from must be an E.164 number, a 3 to 8 digit short code or an alphanumeric sender id of up to 11 characters',
  ),
  invalid_send_at: defineError(
    'invalid_send_at',
    422,
    'sendAt must be a future time within limits',
  ),
  no_route: defineError('no_route', 422, 'No route accepts this message'),
  template_invalid: defineError(
    'template_invalid',
    422,
    'The template body does not parse, or its variables are not declared correctly',
  ),
  template_variables_invalid: defineError(
    'template_variables_invalid',
    422,
    'Template variables are missing, undeclared or not of their declared type',
  ),
  template_render_failed: defineError(
    'template_render_failed',
    422,
    'The template could not be rendered with these variables',
  ),
  template_archived: defineError(
    'template_archived',
    422,
    'The template is archived; create a new version to use it again',
  ),
  recipient_opted_out: defineError(
    'recipient_opted_out',
    422,
    'The recipient opted out of messages of this scope',
  ),
  consent_required: defineError(
    'consent_required',
    422,
    "A marketing message needs the recipient's recorded opt-in to marketing",
  ),
  idempotency_key_reused: defineError(
    'idempotency_key_reused',
    422,
    'This Idempotency-Key was used with a different request',
  ),
  invalid_cursor: defineError('invalid_cursor', 422, 'The pagination cursor is invalid'),
  rate_limited: defineError('rate_limited', 429, 'Too many requests'),
  too_many_login_attempts: defineError(
    'too_many_login_attempts',
    429,
    'Too many failed sign-in attempts; try again later',
  ),
  verification_rate_limited: defineError(
    'verification_rate_limited',
    429,
    'Too many verification codes sent to this number, client IP or number range; retry later',
  ),
  too_many_attempts: defineError(
    'too_many_attempts',
    429,
    'Too many wrong codes: the verification is locked and the number cannot start a new one yet',
  ),
  too_many_sends: defineError(
    'too_many_sends',
    429,
    'The verification was sent the maximum number of times',
  ),
  internal_error: defineError('internal_error', 500, 'Internal server error'),
  service_unavailable: defineError(
    'service_unavailable',
    503,
    'The service is shutting down or not ready',
  ),
  dashboard_not_built: defineError(
    'dashboard_not_built',
    503,
    'The dashboard is not built: run npm run build (npm start does it)',
  ),
  email_taken: defineError('email_taken', 409, 'A user with this e-mail address already exists'),
  last_admin: defineError(
    'last_admin',
    409,
    'The last active admin cannot be demoted or disabled: make another user admin first',
  ),
} as const

export type ErrorCode = keyof typeof errors

/** An expected API error: mapped by the HTTP error handler to its registry entry. */
export class AppError extends Error {
  override readonly name = 'AppError'
  readonly code: string
  readonly status: number
  readonly details: unknown
  /** Seconds, sent as `Retry-After` with a 429. */
  retryAfterSeconds: number | undefined

  constructor(def: ErrorDef, details?: unknown, message?: string) {
    super(message ?? def.message)
    this.code = def.code
    this.status = def.status
    this.details = details
  }

  /** This error with a `Retry-After` of `seconds` (at least 1). */
  retryAfter(seconds: number): this {
    this.retryAfterSeconds = Math.max(1, Math.ceil(seconds))
    return this
  }
}

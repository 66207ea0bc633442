/** An outbound webhook delivery: one event for one target, retried until it succeeds. */
export interface WebhookDeliveryRecord {
  id: string
  message_id: string | null
  endpoint_id: string | null
  url: string
  /** What concurrency is limited by: `endpoint:<id>`, or the origin of a statusCallback URL. */
  destination: string
  event_type: string
  payload: string
  /** `dropped`: its endpoint was removed from the configuration before it was delivered. */
  status: 'pending' | 'succeeded' | 'failed' | 'dropped'
  attempts: number
  next_attempt_at: number | null
  lease_owner: string | null
  lease_until: number | null
  last_status_code: number | null
  last_error: string | null
  created_at: number
  updated_at: number
}

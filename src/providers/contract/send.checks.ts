/** Contract checks of sending: the request as sent and the classification of every answer. */
import assert from 'node:assert/strict'
import type {
  AcceptedAnswer,
  ContractCheckId,
  ContractHarness,
  RawAnswer,
} from '../contract.case.js'
import type { OutboundSms, SendResult } from '../provider.js'
import { closedPort, type UpstreamRequest } from '../test-upstream.js'
import {
  GSM_TEXT,
  HANG_MS,
  SEND_MS,
  THREE_PART_TEXT,
  UNICODE_TEXT,
  defineCheck,
  need,
  outbound,
  project,
  sendSafely,
  waitFor,
  type CheckContext,
} from './runner.js'

const INSTANCE_FAULT = { outcome: 'retry', code: 'provider_auth_failed', fault: 'instance' }
const UNKNOWN = { outcome: 'unknown', code: 'provider_outcome_unknown' }
const HTML_PAGE =
  '<!DOCTYPE html><html><head><title>Error</title></head><body><h1>Internal Server Error</h1></body></html>'
const GENERIC_ID_BODY = '{"id":"contract-0001","status":"queued"}'

/** Sends `sms` after arranging its accepted answer; returns the result and the request. */
async function sendAccepted(
  c: CheckContext,
  sms: OutboundSms,
  id: ContractCheckId,
  arranged: AcceptedAnswer = need(c.h.accepted?.bind(c.h), 'accepted()', id)(sms),
): Promise<{ result: Extract<SendResult, { outcome: 'accepted' }>; request: UpstreamRequest }> {
  const upstream = need(c.h.upstream, 'upstream', id)
  if (arranged.answer) upstream.answerNext(arranged.answer)
  const before = upstream.requests.length
  const result = await sendSafely(c.h.provider, sms, AbortSignal.timeout(SEND_MS))
  assert.equal(result.outcome, 'accepted', `expected accepted, got ${JSON.stringify(result)}`)
  if (arranged.providerMessageIds) {
    assert.deepEqual(result.providerMessageIds, arranged.providerMessageIds)
  }
  if (arranged.price) assert.deepEqual(result.price, arranged.price)
  assert.equal(upstream.requests.length, before + 1, 'one send is one upstream request')
  const request = upstream.requests[before]
  assert.ok(request)
  return { result, request }
}

/** Reads a request back, checking its Content-Type says what the body is. */
function readBack(h: ContractHarness, request: UpstreamRequest, id: ContractCheckId) {
  const fields = need(h.read?.bind(h), 'read()', id)(request)
  const header = request.headers['content-type'] ?? ''
  assert.equal(
    header.split(';')[0]?.trim().toLowerCase(),
    fields.contentType.toLowerCase(),
    'the Content-Type header names the format of the body',
  )
  return fields
}

/** An accepted answer's raw body for the bad-answer checks (a generic one without steering). */
function acceptedBody(h: ContractHarness, sms: OutboundSms): RawAnswer {
  return (
    h.accepted?.(sms).answer ?? {
      status: 201,
      headers: { 'content-type': 'application/json' },
      body: GENERIC_ID_BODY,
    }
  )
}

/** A bad answer check: the result must be exactly `expect` (minus `message`), never a throw. */
function badAnswer(
  id: ContractCheckId,
  title: string,
  steer: (c: CheckContext, sms: OutboundSms) => void,
  expect: object,
  signalMs = SEND_MS,
): void {
  defineCheck(id, title, async (c) => {
    const sms = outbound({ body: GSM_TEXT })
    steer(c, sms)
    const result = await sendSafely(c.h.provider, sms, AbortSignal.timeout(signalMs))
    assert.deepEqual(project(result), expect)
  })
}

export function defineSendChecks(): void {
  defineCheck('request.gsm', 'a GSM-7 text with a sender is sent as written', async (c) => {
    const sms = outbound({ body: GSM_TEXT })
    const { request } = await sendAccepted(c, sms, 'request.gsm')
    const sent = readBack(c.h, request, 'request.gsm')
    assert.equal(sent.to, sms.to, 'the destination, E.164')
    assert.equal(sent.from, sms.from, 'the sender')
    assert.equal(sent.body, sms.body, 'the text, intact')
    assert.ok(sent.unicode === false || sent.unicode === 'auto', 'GSM-7 text is not sent unicode')
  })

  defineCheck(
    'request.unicode',
    'a UCS-2 text with an emoji is sent intact, flagged unicode',
    async (c) => {
      const sms = outbound({ body: UNICODE_TEXT })
      assert.equal(sms.encoding, 'UCS-2')
      const { request } = await sendAccepted(c, sms, 'request.unicode')
      const sent = readBack(c.h, request, 'request.unicode')
      assert.equal(sent.body, sms.body, 'the text, intact')
      assert.equal(sent.to, sms.to, 'the destination, E.164')
      assert.ok(sent.unicode === true || sent.unicode === 'auto', 'UCS-2 text is sent unicode')
    },
  )

  defineCheck('request.no_from', 'a message without a sender names none', async (c) => {
    const sms = outbound({ body: GSM_TEXT, from: null })
    const { request } = await sendAccepted(c, sms, 'request.no_from')
    const sent = readBack(c.h, request, 'request.no_from')
    assert.equal(sent.from, undefined, 'no sender, not even an empty one')
    assert.equal(sent.body, sms.body, 'the text, intact')
  })

  defineCheck('request.reference', 'the request carries our message id', async (c) => {
    const sms = outbound({ body: GSM_TEXT })
    const { request } = await sendAccepted(c, sms, 'request.reference')
    const sent = readBack(c.h, request, 'request.reference')
    assert.equal(sent.reference, sms.id, 'our message id as the reference')
  })

  defineCheck(
    'request.callback_url',
    'the request registers the status callback URL',
    async (c) => {
      const sms = outbound({ body: GSM_TEXT })
      const { request } = await sendAccepted(c, sms, 'request.callback_url')
      const sent = readBack(c.h, request, 'request.callback_url')
      assert.equal(sent.callbackUrl, c.h.ctx.callbackUrls.status, 'the status URL, exactly')
    },
  )

  defineCheck('request.keep_alive', 'sends reuse keep-alive connections', async (c) => {
    const upstream = need(c.h.upstream, 'upstream', 'request.keep_alive')
    const count = () => need(upstream.connections, 'upstream.connections', 'request.keep_alive')
    const before = count()
    for (let i = 0; i < 5; i++) {
      await sendAccepted(c, outbound({ body: GSM_TEXT }), 'request.keep_alive')
    }
    // undici may open a second connection while the first is being released; never one each.
    assert.ok(count() - before <= 2, `five sends opened ${count() - before} connections`)
  })

  defineCheck(
    'errors.table',
    'every documented answer is classified as its table says',
    async (c) => {
      const rows = need(c.h.errors, 'errors table', 'errors.table')
      assert.ok(rows.length > 0, 'the errors table is empty')
      for (const row of rows) {
        await c.step(row.title, () =>
          c.fresh(async (r) => {
            need(r.h.upstream, 'upstream', 'errors.table').answerNext(row.answer)
            const sms = outbound({ body: GSM_TEXT })
            const result = await sendSafely(r.h.provider, sms, AbortSignal.timeout(SEND_MS))
            assert.deepEqual(project(result), row.expect)
          }),
        )
      }
    },
  )

  const up = (c: CheckContext, id: ContractCheckId) => need(c.h.upstream, 'upstream', id)
  badAnswer(
    'errors.html_500',
    'an HTML error page with 500 is a retry',
    (c) =>
      up(c, 'errors.html_500').answerNext({
        status: 500,
        headers: { 'content-type': 'text/html' },
        body: HTML_PAGE,
      }),
    { outcome: 'retry', code: 'provider_unavailable' },
  )
  badAnswer(
    'errors.html_200',
    'an HTML page with 200 is an unknown outcome (the message may be on its way)',
    (c) =>
      up(c, 'errors.html_200').answerNext({
        status: 200,
        headers: { 'content-type': 'text/html' },
        body: HTML_PAGE,
      }),
    UNKNOWN,
  )
  for (const status of [200, 201] as const) {
    const id = status === 200 ? 'errors.empty_200' : 'errors.empty_201'
    badAnswer(
      id,
      `an empty ${status} answer is an unknown outcome, never accepted without an id`,
      (c) =>
        up(c, id).answerNext({ status, headers: { 'content-type': 'application/json' }, body: '' }),
      UNKNOWN,
    )
  }
  badAnswer(
    'errors.truncated_json',
    'a 2xx answer with truncated JSON is an unknown outcome',
    (c, sms) => {
      const ok = acceptedBody(c.h, sms)
      up(c, 'errors.truncated_json').answerNext({
        ...ok,
        body: ok.body.slice(0, Math.floor(ok.body.length / 2)),
      })
    },
    UNKNOWN,
  )
  badAnswer(
    'errors.cut_body',
    'a 2xx answer whose connection drops mid-body is an unknown outcome',
    (c, sms) => up(c, 'errors.cut_body').cutNext(acceptedBody(c.h, sms)),
    UNKNOWN,
  )
  badAnswer(
    'errors.reset',
    'a connection reset after the request was read is an unknown outcome',
    (c) => up(c, 'errors.reset').resetNext(),
    UNKNOWN,
  )
  badAnswer(
    'errors.slow_drip',
    'a 2xx answer dripping past the time limit is an unknown outcome',
    (c, sms) => {
      const ok = acceptedBody(c.h, sms)
      // Long enough that the whole body would take at least three time limits.
      const intervalMs = Math.max(50, Math.ceil((3 * HANG_MS) / Math.max(1, ok.body.length)))
      up(c, 'errors.slow_drip').dripNext(ok, intervalMs)
    },
    UNKNOWN,
    HANG_MS,
  )

  for (const status of [401, 403] as const) {
    const id = status === 401 ? 'auth.http_401' : 'auth.http_403'
    badAnswer(
      id,
      `HTTP ${status} is the instance's fault: retry provider_auth_failed`,
      (c) =>
        up(c, id).answerNext({
          status,
          headers: { 'content-type': 'application/json' },
          body: '{"error":"authentication failed"}',
        }),
      INSTANCE_FAULT,
    )
  }

  defineCheck(
    'auth.documented',
    "the provider's own refusals of credentials are the instance's fault",
    async (c) => {
      const rows = need(c.h.authFailures, 'authFailures', 'auth.documented')
      assert.ok(rows.length > 0, 'authFailures is empty')
      for (const answer of rows) {
        await c.fresh(async (r) => {
          need(r.h.upstream, 'upstream', 'auth.documented').answerNext(answer)
          const result = await sendSafely(
            r.h.provider,
            outbound({ body: GSM_TEXT }),
            AbortSignal.timeout(SEND_MS),
          )
          assert.deepEqual(project(result), INSTANCE_FAULT, `for ${answer.status} ${answer.body}`)
        })
      }
    },
  )

  defineCheck(
    'timeout.hang',
    'an upstream that never answers is an unknown outcome at the time limit',
    async (c) => {
      const upstream = up(c, 'timeout.hang')
      upstream.hangNext()
      const before = upstream.requests.length
      const result = await sendSafely(
        c.h.provider,
        outbound({ body: GSM_TEXT }),
        AbortSignal.timeout(HANG_MS),
      )
      assert.equal(upstream.requests.length, before + 1, 'the request was written')
      assert.deepEqual(project(result), UNKNOWN)
    },
  )

  defineCheck(
    'abort.after_request',
    "the caller's abort after the request left is an unknown outcome",
    async (c) => {
      const upstream = up(c, 'abort.after_request')
      upstream.hangNext()
      const before = upstream.requests.length
      const controller = new AbortController()
      const sending = sendSafely(c.h.provider, outbound({ body: GSM_TEXT }), controller.signal)
      const arrived = await waitFor(() => (upstream.requests.length > before ? true : undefined))
      controller.abort()
      const result = await sending
      assert.ok(arrived, 'the request reached the upstream')
      assert.deepEqual(project(result), UNKNOWN)
    },
  )

  defineCheck(
    'abort.before_send',
    'an already aborted send writes nothing and is a retry',
    async (c) => {
      const upstream = up(c, 'abort.before_send')
      const before = upstream.requests.length
      const result = await sendSafely(
        c.h.provider,
        outbound({ body: GSM_TEXT }),
        AbortSignal.abort(),
      )
      await new Promise((resolve) => setTimeout(resolve, 50))
      assert.equal(result.outcome, 'retry', JSON.stringify(result))
      assert.equal(upstream.requests.length, before, 'nothing was sent')
    },
  )

  defineCheck(
    'connection.refused',
    'a refused connection is a retry provider_connection_error',
    async (c) => {
      const provider = await c.another({ baseUrl: `http://127.0.0.1:${await closedPort()}` })
      const result = await sendSafely(
        provider,
        outbound({ body: GSM_TEXT }),
        AbortSignal.timeout(SEND_MS),
      )
      assert.deepEqual(project(result), { outcome: 'retry', code: 'provider_connection_error' })
    },
  )

  defineCheck(
    'multipart.ids',
    'a three-part unicode message is accepted with its part ids in order',
    async (c) => {
      const sms = outbound({ body: THREE_PART_TEXT })
      assert.deepEqual([sms.encoding, sms.segments], ['UCS-2', 3])
      const perPart = need(c.h.idsPerPart, 'idsPerPart', 'multipart.ids')
      const arranged = need(c.h.accepted?.bind(c.h), 'accepted()', 'multipart.ids')(sms)
      const ids = need(
        arranged.providerMessageIds,
        'accepted().providerMessageIds',
        'multipart.ids',
      )
      assert.equal(ids.length, perPart ? 3 : 1, 'the arranged answer has one id per part, or one')
      const { result, request } = await sendAccepted(c, sms, 'multipart.ids', arranged)
      assert.deepEqual(result.providerMessageIds, ids)
      assert.equal(readBack(c.h, request, 'multipart.ids').body, sms.body)
    },
  )
}

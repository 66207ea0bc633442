/** The contract suite's check runner: a fresh harness per check, reasoned skips, cleanup. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { newId } from '../../domain/ids.js'
import { analyzeBody } from '../../domain/messages/encoding.js'
import type {
  ContractCheckId,
  ContractHarness,
  ContractSetup,
  ExpectedSendResult,
  WebhookMethod,
} from '../contract.case.js'
import type { OutboundSms, ProviderEvent, SendResult, SmsProvider } from '../provider.js'

/** Instance name the suite creates providers with. */
export const INSTANCE = 'contract-a'
/** Per check, including setup, a table's rows and a real Switchboard's start. */
export const CHECK_TIMEOUT_MS = 60_000
/** The caller's time limit for ordinary sends. */
export const SEND_MS = 5_000
/** The caller's time limit for sends the upstream never answers. */
export const HANG_MS = 1_000

/** One check's world: its harness, the events its instances pushed, more instances. */
export interface CheckContext {
  readonly h: ContractHarness
  /** Events the started instances pushed to their sink. */
  readonly events: ProviderEvent[]
  /** Runs one named part of the check (a table row): a subtest under node:test. */
  step(title: string, fn: () => Promise<void>): Promise<void>
  /** Another instance from `h.createProvider`, started, and stopped after the check. */
  another(o: { baseUrl?: string; alternate?: boolean }): Promise<SmsProvider>
  /** Runs `fn` with a new harness (a table row), closed after it. */
  fresh(fn: (c: CheckContext) => Promise<void>): Promise<void>
}

/** What the harness must have for a check, or a failure naming the skip to write instead. */
export function need<T>(value: T | undefined, what: string, id: ContractCheckId): T {
  if (value === undefined) {
    assert.fail(`the harness has no ${what}: provide it, or skip '${id}' with the reason`)
  }
  return value
}

type Step = CheckContext['step']

async function withHarness(
  setup: ContractSetup,
  step: Step,
  fn: (c: CheckContext) => Promise<void>,
): Promise<void> {
  const h = await setup({ name: INSTANCE })
  const started: SmsProvider[] = []
  const events: ProviderEvent[] = []
  const start = async (p: SmsProvider): Promise<SmsProvider> => {
    started.push(p)
    await p.start?.((_name, batch) => events.push(...batch))
    return p
  }
  try {
    await start(h.provider)
    await fn({
      h,
      events,
      step,
      another: async (o) =>
        start(need(h.createProvider?.bind(h), 'createProvider()', 'connection.refused')(o)),
      fresh: (inner) => withHarness(setup, step, inner),
    })
  } finally {
    for (const p of started) await p.stop?.()
    await h.close()
  }
}

/** One contract check, independent of any adapter. */
export interface CheckDefinition {
  readonly id: ContractCheckId
  readonly title: string
  readonly run: (c: CheckContext) => Promise<void>
  /** A reason that follows from the adapter's shape (no webhooks at all, say). */
  readonly implicitSkip?: (h: ContractHarness) => string | undefined
}

/** Every check, in the order they run (the check modules add theirs when imported). */
export const CHECK_DEFINITIONS: CheckDefinition[] = []

/** Adds a check: titled `<id>: <title>`, skipped for the harness's reason. */
export function defineCheck(
  id: ContractCheckId,
  title: string,
  run: (c: CheckContext) => Promise<void>,
  implicitSkip?: (h: ContractHarness) => string | undefined,
): void {
  CHECK_DEFINITIONS.push({ id, title, run, ...(implicitSkip ? { implicitSkip } : {}) })
}

/**
 * Runs one check with a fresh harness from `setup`: resolves with the skip reason when the
 * harness skips it, with undefined when it passed; rejects when it failed.
 */
export async function runCheck(
  setup: ContractSetup,
  def: CheckDefinition,
  step: Step,
): Promise<string | undefined> {
  let reason: string | undefined
  await withHarness(setup, step, async (c) => {
    reason = c.h.skip?.[def.id] ?? def.implicitSkip?.(c.h)
    if (reason === undefined) await def.run(c)
  })
  if (reason !== undefined) assert.ok(reason.trim().length > 0, `skip '${def.id}' needs a reason`)
  return reason
}

/** Registers every check as a node:test test, with table rows as subtests. */
export function registerChecks(setup: ContractSetup): void {
  for (const def of CHECK_DEFINITIONS) {
    void test(`${def.id}: ${def.title}`, { timeout: CHECK_TIMEOUT_MS }, async (t) => {
      const reason = await runCheck(setup, def, async (title, fn) => {
        await t.test(title, fn)
      })
      if (reason !== undefined) t.skip(reason)
    })
  }
}

let sequence = 0

/** An outbound message of the suite, encoding and segments as Switchboard computes them. */
export function outbound(o: { body: string; from?: string | null; to?: string }): OutboundSms {
  const { encoding, segments } = analyzeBody(o.body)
  sequence++
  return {
    id: newId('msg'),
    to: o.to ?? `+1415555${String(1000 + (sequence % 9000)).padStart(4, '0')}`,
    from: o.from === undefined ? '+14155550100' : o.from,
    body: o.body,
    encoding,
    segments,
    validUntil: Date.now() + 3_600_000,
    attempt: 1,
  }
}

/** Plain GSM-7 text with characters that need escaping in forms and JSON. */
export const GSM_TEXT = 'Code 123456 & 10% off: "A+B=C" @ Store; reply STOP (€2)'
/** UCS-2 text with an emoji (a surrogate pair), accents and CJK. */
export const UNICODE_TEXT = 'Grüße aus Köln 👋 — ça va? 你好'
/** UCS-2 text of three segments (67 UTF-16 units each) with emoji astride. */
export const THREE_PART_TEXT = 'Привет 👋 мир! '.repeat(10).trim()

/** A result minus its free-text `message`, for exact comparison with a table's expectation. */
export function project(result: SendResult): ExpectedSendResult {
  const { message: _message, ...rest } = result as SendResult & { message?: string }
  return rest
}

/** Sends, failing the check (not the process) if the adapter throws: adapters never throw. */
export async function sendSafely(
  provider: SmsProvider,
  sms: OutboundSms,
  signal: AbortSignal,
): Promise<SendResult> {
  try {
    return await provider.send(sms, signal)
  } catch (err) {
    return assert.fail(`send threw instead of returning a SendResult: ${String(err)}`)
  }
}

/** The callback kinds the harness declares, with their methods. */
export function callbackKinds(
  h: ContractHarness,
  id: ContractCheckId,
): { kind: 'status' | 'inbound'; method: WebhookMethod }[] {
  const m = need(h.webhookMethods, 'webhookMethods', id)
  const out: { kind: 'status' | 'inbound'; method: WebhookMethod }[] = []
  for (const method of m.status ?? []) out.push({ kind: 'status', method })
  for (const method of m.inbound ?? []) out.push({ kind: 'inbound', method })
  assert.ok(out.length > 0, `webhookMethods declares no callbacks: skip '${id}' with the reason`)
  return out
}

/** Polls until `probe` returns a value, or undefined after `ms`. */
export async function waitFor<T>(probe: () => T | undefined, ms = 5000): Promise<T | undefined> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = probe()
    if (v !== undefined || Date.now() >= deadline) return v
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

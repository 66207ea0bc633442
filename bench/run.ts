/**
 * Switchboard benchmarks:
 * `npm run bench [-- --only intake,batch,e2e,segments,pacing,preview,verify-check,stats] [--quick]`
 * (`twilio-e2e` and `twilio-ingest` measure the Twilio adapter against a local Twilio-speaking
 * server).
 *
 * Every server under test runs in its own child process on a fresh SQLite database in a temp
 * directory, with the in-process simulator, listening on 127.0.0.1 only; the load generator
 * (autocannon) runs in this process. Prints each figure next to its target as it completes,
 * then a table and a JSON summary. See BENCHMARKS.md.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js'
import { Pool } from 'undici'
import {
  formatProfile,
  mainThreadProfile,
  monotonicUs,
  summariseProfile,
  threadProfiles,
  type ProfileWindow,
} from './lib/cpuprofile.js'
import { assertValidDestinations, batchBodies, destination, sendBody } from './lib/load.js'
import { cpuSeconds, REPO_ROOT, stopAll } from './lib/proc.js'
import type { SqlTimingSnapshot } from './sql-timing.js'
import { BareServer, openReadOnly, SwitchboardServer } from './lib/servers.js'
import { startFakeProvider, worstSecond } from '../test/support/fake-provider.js'
import { paced, type PacedFigures } from './lib/paced.js'
import { buildStatsDatabase, measureStats } from './stats.bench.js'
import { freePort, TWILIO_BENCH, TwilioFakeServer, twilioSwitchboardEnv } from './lib/twilio.js'

const PARTS = [
  'bare',
  'intake',
  'batch',
  'e2e',
  'segments',
  'pacing',
  'twilio-e2e',
  'twilio-ingest',
  'preview',
  'verify-check',
  'stats',
] as const
type Part = (typeof PARTS)[number]

const USAGE = `npm run bench [-- options]

  --only LIST       comma-separated parts: intake,batch,e2e,segments,pacing,preview,verify-check (and bare,
                    which intake always includes because intake is reported as a ratio of it);
                    pacing takes about 100 s (quick: 20 s); twilio-e2e, twilio-ingest (through
                    the Twilio adapter and a local Twilio-speaking server); preview (template
                    preview latency for a 1,600-character body); stats (GET /v1/stats over
                    1M messages, quick: 200k). Default: all
  --twilio-callbacks WORDS
                    status callbacks per message in twilio-e2e, comma-separated
                    (default sent,delivered: what Twilio sends for an SMS)
  --quick           short durations and fewer messages: a smoke run, not for the record
  --duration S      measured seconds per HTTP load run (default 10, quick 3)
  --rounds N        bare and intake alternate N times; the intake figure is the median of
                    the rounds' ratios (default 2, quick 1)
  --messages N      end-to-end messages, a multiple of 1000 (default 50000, quick 10000)
  --role all|api    server role for the intake and batch runs (default all: the send
                    worker and simulator run in the same process, as with \`start\`)
  --profile         also write V8 CPU profiles of every server (.tmp/bench-profiles/) and
                    print where the time goes; the figures of such a run are slower
  --keep            keep the temp directory with the databases
  --strict          exit 1 when a target is missed`

const { values: flags } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    messages: { type: 'string' },
    'twilio-callbacks': { type: 'string', default: 'sent,delivered' },
    role: { type: 'string', default: 'all' },
    profile: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    strict: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (flags.help) {
  console.log(USAGE)
  process.exit(0)
}

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`)
  process.exit(2)
}

const selected = new Set<Part>()
for (const p of (flags.only ?? PARTS.join(',')).split(',').map((s) => s.trim())) {
  if (!(PARTS as readonly string[]).includes(p)) fail(`unknown part "${p}"`)
  selected.add(p as Part)
}
if (selected.has('intake')) selected.add('bare')
if (flags.role !== 'all' && flags.role !== 'api') fail('--role must be all or api')
const role = flags.role

const quick = flags.quick
const settings = {
  warmupS: quick ? 1 : 2,
  durationS: flags.duration ? Number(flags.duration) : quick ? 3 : 10,
  rounds: flags.rounds ? Number(flags.rounds) : quick ? 1 : 2,
  connections: 50,
  batchConnections: 4,
  batchSize: 1000,
  /** Distinct request bodies each load run cycles through. */
  intakeBodies: 500,
  batchBodies: quick ? 10 : 20,
  e2eMessages: flags.messages ? Number(flags.messages) : quick ? 10_000 : 50_000,
  e2eConcurrency: 4,
  e2eTimeoutMs: quick ? 60_000 : 180_000,
  segmentsCount: quick ? 2_000 : 10_000,
  pacingMps: 50,
  /** Preview requests per second, over previewConnections (editors typing, not a flood). */
  previewRate: 200,
  previewConnections: 4,
  pacingMessages: quick ? 1_000 : 5_000,
  /** Messages in the stats database, and timed requests per stats query. */
  statsMessages: quick ? 200_000 : 1_000_000,
  statsRequests: quick ? 10 : 30,
}
if (!Number.isInteger(settings.durationS) || settings.durationS < 1 || settings.durationS > 60) {
  fail('--duration must be 1 to 60 seconds')
}
if (!Number.isInteger(settings.rounds) || settings.rounds < 1 || settings.rounds > 5) {
  fail('--rounds must be 1 to 5')
}
const m = settings.e2eMessages
if (!Number.isInteger(m) || m < 1000 || m > 200_000 || m % settings.batchSize !== 0) {
  fail('--messages must be a multiple of 1000 from 1000 to 200000')
}

/** Hard limit for the whole run; every child also stops itself a little after it. */
const pacingMs = selected.has('pacing') ? (settings.pacingMessages / settings.pacingMps) * 1200 : 0
const budgetMs = (quick ? 5 * 60_000 : 15 * 60_000) + pacingMs
const childMaxMs = budgetMs + 60_000

const TARGETS = {
  intakeRatio: 0.35,
  batchMsgsPerSec: 50_000,
  e2eMsgsPerSec: 5_000,
  peakRssBytes: 300 * 1024 * 1024,
  segmentsRatio: 10,
  /** Share of the limit a backlog uses. */
  pacingUse: 0.95,
  twilioE2eMsgsPerSec: 5_000,
  twilioIngestPerSec: 5_000,
  previewP99Ms: 5,
  /** POST /v1/verifications/check at a fixed rate: its p99. */
  verifyCheckRate: 1_000,
  verifyCheckP99Ms: 5,
  /** GET /v1/stats over 1M messages on SQLite: p99 of each query. */
  statsP99Ms: 200,
}

// ---------------------------------------------------------------------------------------------

/** One HTTP load's figures, from autocannon (`figures`) or a paced run (`paced`). */
type HttpFigures = PacedFigures

interface Check {
  figure: string
  value: string
  target: string
  pass: boolean
}

const results: Record<string, unknown> = {}
const checks: Check[] = []
const peaks: Record<string, number> = {}
let durability: { journalMode: string; synchronous: string } | undefined
let profileDir: string | undefined
/** When the last measured load ran; CPU profiles are summarised over this window only. */
let measuredWindow: ProfileWindow | undefined
/** Called at both edges of the measured window (the server's SQL timing snapshots). */
let onWindowEdge: (() => void) | undefined

function windowStart(): number {
  onWindowEdge?.()
  return monotonicUs()
}

function windowEnd(fromUs: number): void {
  measuredWindow = { fromUs, toUs: monotonicUs() }
  onWindowEdge?.()
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const mb = (bytes: number) => `${fmt(bytes / 1024 / 1024, 1)} MB`

function check(figure: string, value: string, target: string, pass: boolean): void {
  checks.push({ figure, value, target, pass })
  console.log(`  => ${figure}: ${value}   target ${target}   ${pass ? 'PASS' : 'FAIL'}`)
}

/** Every request of a load run must have been answered 2xx. */
function checkNoFailures(label: string, f: HttpFigures): void {
  const failed = f.non2xx + f.errors + f.timeouts
  check(`${label} non-2xx`, String(failed), '0', failed === 0)
}

function figures(r: autocannon.Result): HttpFigures {
  const statusCodes: Record<string, number> = {}
  for (const [code, s] of Object.entries(r.statusCodeStats)) statusCodes[code] = s.count
  return {
    reqPerSec: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    meanMs: r.latency.mean,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    durationS: r.duration,
    statusCodes,
  }
}

function printHttp(label: string, f: HttpFigures): void {
  console.log(
    `[${label}] ${fmt(f.reqPerSec)} req/s  p50 ${f.p50Ms} ms  p99 ${f.p99Ms} ms  ` +
      `2xx ${fmt(f.ok)}  non-2xx ${f.non2xx}  errors ${f.errors}  timeouts ${f.timeouts}  ` +
      `(${f.durationS} s)`,
  )
}

/** One autocannon run (after its warm-up) with the settings shared by every HTTP figure. */
async function load(
  url: string,
  path: string,
  bodies: readonly string[],
  connections: number,
  apiKey: string,
): Promise<{ main: autocannon.Result; warmupOk: number }> {
  const fromUs = windowStart()
  const result = await autocannon({
    url,
    connections,
    duration: settings.durationS,
    warmup: { connections, duration: settings.warmupS },
    timeout: 30,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    requests: bodies.map((body) => ({ method: 'POST', path, body })),
  })
  windowEnd(fromUs)
  return { main: result, warmupOk: result.warmup?.['2xx'] ?? 0 }
}

/** A single request before the load, so a wrong payload fails loudly with its answer. */
async function probe(url: string, apiKey: string, body: string): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body,
  })
  const text = await res.text()
  if (res.status !== 202) throw new Error(`probe ${url} answered ${res.status}: ${text}`)
  const parsed = JSON.parse(text) as { failed?: number }
  if (parsed.failed) throw new Error(`probe ${url}: ${parsed.failed} messages failed: ${text}`)
}

function countMessages(dbPath: string): number {
  const db = openReadOnly(dbPath)
  try {
    return db.prepare('SELECT count(*) FROM messages').pluck().get() as number
  } finally {
    db.close()
  }
}

let seq = 0
/** A fresh directory for one server's CPU profiles, when profiling. */
function profileFor(name: string): string | undefined {
  measuredWindow = undefined
  if (!profileDir) return undefined
  const dir = join(profileDir, `${String(++seq).padStart(2, '0')}-${name}`)
  mkdirSync(dir, { recursive: true })
  return dir
}

function printProfile(dir: string | undefined, title: string): void {
  if (!dir) return
  try {
    const summary = summariseProfile(mainThreadProfile(dir), measuredWindow)
    console.log(formatProfile(`${title}, measured window only`, summary))
    // The other threads (the background thread of `start`) that worked in the window.
    threadProfiles(dir)
      .slice(1)
      .forEach((p, i) => {
        const other = summariseProfile(p, measuredWindow, 12)
        const idle = other.selfByArea.find((r) => r.name === '(idle)')?.pct ?? 100
        if (idle > 90) return
        console.log(formatProfile(`${title}, thread ${i + 2} by load, measured window only`, other))
      })
  } catch (err) {
    console.log(`(no CPU profile for ${title}: ${(err as Error).message})`)
  }
}

/** A server role, or a role with more configuration and a fixed port (Twilio's PUBLIC_URL). */
type ServerSpec = 'all' | 'api' | { role: 'all' | 'api'; env: Record<string, string>; port: number }

async function withSwitchboard<T>(
  name: string,
  dir: string,
  spec: ServerSpec,
  body: (s: SwitchboardServer) => Promise<T>,
  env: Record<string, string> = {},
): Promise<T> {
  const prof = profileFor(`switchboard-${name}`)
  const sqlTimingFile = prof ? join(prof, 'sql-timing') : undefined
  const server = await SwitchboardServer.start({
    dir,
    ...(typeof spec === 'string' ? { role: spec } : spec),
    maxMs: childMaxMs,
    env: { ...(typeof spec === 'string' ? {} : spec.env), ...env },
    ...(prof ? { cpuProfileDir: prof, sqlTimingFile } : {}),
  })
  durability ??= server.durability
  if (sqlTimingFile) onWindowEdge = () => server.snapshotSqlTiming()
  try {
    return await body(server)
  } finally {
    onWindowEdge = undefined
    const peak = await server.stop()
    peaks[name] = peak
    console.log(`  switchboard peak RSS during ${name}: ${mb(peak)}`)
    printProfile(prof, `switchboard, ${name}`)
    // Snapshot 1 covers start-up until the window opened; snapshot 2 the window.
    if (sqlTimingFile) {
      printSqlTiming(`${sqlTimingFile}.2.json`, name)
      for (const f of readdirSync(dirname(sqlTimingFile))) {
        const thread = /^sql-timing\.t(\d+)\.2\.json$/.exec(f)?.[1]
        if (thread) printSqlTiming(join(dirname(sqlTimingFile), f), `${name} (thread ${thread})`)
      }
    }
  }
}

function printSqlTiming(file: string, title: string): void {
  let t: SqlTimingSnapshot
  try {
    t = JSON.parse(readFileSync(file, 'utf8')) as SqlTimingSnapshot
  } catch (err) {
    console.log(`(no SQL timing for ${title}: ${(err as Error).message})`)
    return
  }
  const pct = (ms: number) => `${((ms / t.windowMs) * 100).toFixed(1).padStart(5)}%`
  const lines = [`--- SQL time, switchboard ${title}, measured window (${fmt(t.windowMs)} ms) ---`]
  const m = t.memory
  lines.push(
    `memory at the end of the window: rss ${mb(m.rss)}, V8 heap used ${mb(m.heapUsed)} of ` +
      `${mb(m.heapTotal)}, external ${mb(m.external)} (array buffers ${mb(m.arrayBuffers)}), ` +
      `outside V8 (SQLite page cache, malloc, code) ~${mb(m.rss - m.heapTotal - m.external)}`,
  )
  lines.push('transactions (named after their first statement): share of wall time, calls, ms')
  for (const x of t.transactions.slice(0, 8)) {
    lines.push(
      `  ${pct(x.ms)} ${String(x.calls).padStart(7)} ${fmt(x.ms).padStart(8)} ms ` +
        `(statements ${fmt(x.statementsMs)}, COMMIT ${fmt(x.commitMs)})  ${x.first.slice(0, 110)}`,
    )
  }
  lines.push('statements: share of wall time, calls, ms, rows, µs per call, max ms, calls >= 2 ms')
  for (const x of t.statements.slice(0, 14)) {
    lines.push(
      `  ${pct(x.ms)} ${String(x.calls).padStart(7)} ${fmt(x.ms).padStart(8)} ms ` +
        `${String(x.rows).padStart(8)} rows ${fmt((x.ms * 1000) / x.calls).padStart(6)} µs ` +
        `${fmt(x.maxMs, 1).padStart(6)} ${String(x.slow).padStart(5)}  ` +
        x.sql.slice(0, 110),
    )
  }
  console.log(lines.join('\n'))
}

// --- (d) the ceiling ------------------------------------------------------------------------

const intakeBodies = () => {
  assertValidDestinations(0, settings.intakeBodies)
  return Array.from({ length: settings.intakeBodies }, (_, i) => JSON.stringify(sendBody(i)))
}

async function runBare(round: number): Promise<HttpFigures> {
  console.log(
    `\n[bare] bare Fastify JSON POST, ${settings.connections} connections, ` +
      `${settings.warmupS} s warm-up + ${settings.durationS} s${roundLabel(round)}`,
  )
  const prof = profileFor(`bare-${round}`)
  const server = await BareServer.start({
    maxMs: childMaxMs,
    ...(prof ? { cpuProfileDir: prof } : {}),
  })
  try {
    const bodies = intakeBodies()
    // Any well-formed key: the bare server ignores it, but the request bytes match intake's.
    const { main } = await load(
      server.url,
      '/v1/messages',
      bodies,
      settings.connections,
      'sb_live_bench',
    )
    const f = figures(main)
    printHttp('bare', f)
    bareRounds.push(f)
    return f
  } finally {
    peaks[`bare-${round}`] = await server.stop()
    printProfile(prof, 'bare server')
  }
}

// --- (a) intake ------------------------------------------------------------------------------

/** Each round's figures: bare and intake alternate, so each ratio compares neighbours in time. */
const bareRounds: HttpFigures[] = []
const intakeRounds: (HttpFigures & { stored: number; ratioToBare: number })[] = []
const roundLabel = (round: number) =>
  settings.rounds > 1 ? ` (round ${round} of ${settings.rounds})` : ''

async function runIntake(dir: string, bare: HttpFigures | undefined, round: number): Promise<void> {
  console.log(
    `\n[intake] POST /v1/messages, ${settings.connections} connections, ` +
      `${settings.warmupS} s warm-up + ${settings.durationS} s, role ${role}${roundLabel(round)}`,
  )
  const bodies = intakeBodies()
  await withSwitchboard(round === 1 ? 'intake' : `intake-${round}`, dir, role, async (s) => {
    await probe(`${s.url}/v1/messages`, s.apiKey, bodies[0] ?? '')
    const { main, warmupOk } = await load(
      s.url,
      '/v1/messages',
      bodies,
      settings.connections,
      s.apiKey,
    )
    const f = figures(main)
    printHttp('intake', f)
    // Every 2xx must be a stored row (requests cut off when the run stops may add a few).
    const stored = countMessages(s.dbPath)
    const answered = 1 + warmupOk + f.ok
    console.log(`  stored messages: ${fmt(stored)} (2xx answers incl. warm-up: ${fmt(answered)})`)
    const ratio = bare ? f.reqPerSec / bare.reqPerSec : Number.NaN
    console.log(
      `  intake / bare${roundLabel(round)}: ${fmt(f.reqPerSec)} / ` +
        `${bare ? fmt(bare.reqPerSec) : '?'} req/s = ${ratio.toFixed(3)} x bare`,
    )
    intakeRounds.push({ ...f, stored, ratioToBare: Math.round(ratio * 1000) / 1000 })
    if (stored < answered) throw new Error(`only ${stored} of ${answered} accepted messages stored`)
  })
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

/** The intake checks over every round: no failed request, and the median ratio to bare. */
function checkIntake(): void {
  const failed = intakeRounds.reduce((n, f) => n + f.non2xx + f.errors + f.timeouts, 0)
  check('intake non-2xx', String(failed), '0', failed === 0)
  const ratio = median(intakeRounds.map((f) => f.ratioToBare))
  const each = intakeRounds.map(
    (f, i) => `${fmt(f.reqPerSec)} / ${fmt(bareRounds[i]?.reqPerSec ?? Number.NaN)}`,
  )
  check(
    'intake / bare',
    `${each.join(', ')} req/s = ${intakeRounds.map((f) => f.ratioToBare.toFixed(3)).join(', ')} ` +
      `x bare${intakeRounds.length > 1 ? `; median ${ratio.toFixed(3)}` : ''}`,
    `>= ${TARGETS.intakeRatio} x bare`,
    ratio >= TARGETS.intakeRatio,
  )
}

// --- (b) batch intake ------------------------------------------------------------------------

async function runBatch(dir: string): Promise<void> {
  console.log(
    `\n[batch] POST /v1/messages/batch x ${settings.batchSize} messages, ` +
      `${settings.batchConnections} connections, ${settings.warmupS} s warm-up + ` +
      `${settings.durationS} s, role ${role}`,
  )
  const first = 100_000
  assertValidDestinations(first, settings.batchBodies * settings.batchSize)
  const bodies = batchBodies(first, settings.batchBodies, settings.batchSize)
  await withSwitchboard('batch', dir, role, async (s) => {
    await probe(`${s.url}/v1/messages/batch`, s.apiKey, bodies[0] ?? '')
    const { main, warmupOk } = await load(
      s.url,
      '/v1/messages/batch',
      bodies,
      settings.batchConnections,
      s.apiKey,
    )
    const f = figures(main)
    printHttp('batch', f)
    const msgsPerSec = Math.round((f.ok * settings.batchSize) / f.durationS)
    const stored = countMessages(s.dbPath)
    const answered = (1 + warmupOk + f.ok) * settings.batchSize
    console.log(
      `  ${fmt(msgsPerSec)} messages/s; stored messages: ${fmt(stored)} ` +
        `(accepted incl. warm-up: ${fmt(answered)})`,
    )
    results.batch = { ...f, msgsPerSec, stored }
    checkNoFailures('batch', f)
    check(
      'batch intake',
      `${fmt(msgsPerSec)} msg/s`,
      `>= ${fmt(TARGETS.batchMsgsPerSec)} msg/s`,
      msgsPerSec >= TARGETS.batchMsgsPerSec,
    )
    if (stored < answered) throw new Error(`only ${stored} of ${answered} accepted messages stored`)
  })
}

// --- (c) end to end --------------------------------------------------------------------------

/** Which provider the end-to-end run goes through. */
interface E2eVariant {
  /** `e2e` (the in-process simulator) or `twilio-e2e`. */
  readonly part: 'e2e' | 'twilio-e2e'
  readonly figure: string
  readonly target: number
  readonly server: ServerSpec
  /** Printed once the server runs, when not the simulator; throws if it runs other providers. */
  readonly describe?: (s: SwitchboardServer) => void
  /** Other processes whose CPU time the run reports (the local Twilio-speaking server). */
  readonly alsoCpu?: readonly { name: string; pid: number }[]
}

async function runE2e(
  dir: string,
  variant: E2eVariant = {
    part: 'e2e',
    figure: 'end-to-end',
    target: TARGETS.e2eMsgsPerSec,
    server: 'all',
  },
): Promise<void> {
  const tag = variant.part
  const n = settings.e2eMessages
  const batches = n / settings.batchSize
  console.log(
    `\n[${tag}] ${fmt(n)} messages in ${batches} batches (${settings.e2eConcurrency} at a time), ` +
      'until all are delivered',
  )
  assertValidDestinations(0, n)
  const bodies = batchBodies(0, batches, settings.batchSize)
  await withSwitchboard(tag, dir, variant.server, async (s) => {
    variant.describe?.(s)
    const sim = s.config.providers[0]
    if (sim?.type === 'simulator') {
      console.log(
        `  simulator: latency ${sim.latencyMs.min}-${sim.latencyMs.max} ms, ` +
          `delivery report after ${sim.dlrDelayMs} ms, transient rate ${sim.transientRate}`,
      )
    }
    const db = openReadOnly(s.dbPath)
    // Served by the messages_status (status, id) index; a few ms even at the end.
    const delivered = db.prepare("SELECT count(*) FROM messages WHERE status = 'delivered'").pluck()
    try {
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${s.apiKey}` }
      let next = 0
      let submitError: Error | undefined
      let submittedAt: number | undefined
      const t0 = performance.now()
      const fromUs = windowStart()
      const cpuOf = [{ name: 'switchboard', pid: s.child.pid }, ...(variant.alsoCpu ?? [])]
      const cpuAtStart = cpuOf.map((p) => cpuSeconds(p.pid) ?? Number.NaN)
      const submit = async () => {
        while (next < bodies.length) {
          const body = bodies[next++]
          const res = await fetch(`${s.url}/v1/messages/batch`, { method: 'POST', headers, body })
          const text = await res.text()
          if (res.status !== 202)
            throw new Error(`batch answered ${res.status}: ${text.slice(0, 300)}`)
          const r = JSON.parse(text) as { accepted: number }
          if (r.accepted !== settings.batchSize) throw new Error(`batch accepted ${r.accepted}`)
        }
      }
      void Promise.all(Array.from({ length: settings.e2eConcurrency }, submit)).then(
        () => (submittedAt = performance.now()),
        (err: unknown) => (submitError = err instanceof Error ? err : new Error(String(err))),
      )
      let done: number | undefined
      let firstDeliveredAt: number | undefined
      let count = 0
      while (submitError === undefined) {
        count = delivered.get() as number
        const now = performance.now()
        if (count > 0) firstDeliveredAt ??= now
        if (count >= n) {
          done = now
          break
        }
        if (now - t0 > settings.e2eTimeoutMs) break
        await sleep(50)
      }
      windowEnd(fromUs)
      const cpu = cpuOf.map((p, i) => ({
        name: p.name,
        seconds: Math.round(((cpuSeconds(p.pid) ?? Number.NaN) - (cpuAtStart[i] ?? 0)) * 100) / 100,
      }))
      if (submitError !== undefined) throw submitError
      const byStatus = db
        .prepare('SELECT status, count(*) AS n FROM messages GROUP BY status')
        .all() as { status: string; n: number }[]
      const statuses = Object.fromEntries(byStatus.map((r) => [r.status, r.n]))
      if (done === undefined) {
        console.log(`  timed out after ${settings.e2eTimeoutMs} ms: ${JSON.stringify(statuses)}`)
      }
      const elapsed = ((done ?? performance.now()) - t0) / 1000
      const msgsPerSec = Math.round((done === undefined ? count : n) / elapsed)
      const submitS = submittedAt === undefined ? undefined : (submittedAt - t0) / 1000
      console.log(
        `[${tag}] ${fmt(count)} delivered in ${elapsed.toFixed(2)} s = ${fmt(msgsPerSec)} msg/s; ` +
          `all accepted after ${submitS?.toFixed(2) ?? '?'} s; first delivered after ` +
          `${firstDeliveredAt === undefined ? '?' : ((firstDeliveredAt - t0) / 1000).toFixed(2)} s`,
      )
      console.log(
        `  CPU time in the window: ${cpu
          .map((c) => `${c.name} ${c.seconds} s (${((c.seconds * 1e3) / n).toFixed(2)} ms/message)`)
          .join(', ')}`,
      )
      results[tag] = {
        cpuSeconds: Object.fromEntries(cpu.map((c) => [c.name, c.seconds])),
        messages: n,
        delivered: count,
        seconds: Math.round(elapsed * 1000) / 1000,
        msgsPerSec,
        acceptedAllAfterS: submitS === undefined ? null : Math.round(submitS * 1000) / 1000,
        statuses,
        completed: done !== undefined,
      }
      check(
        variant.figure,
        `${fmt(msgsPerSec)} msg/s${done === undefined ? ' (timed out)' : ''}`,
        `>= ${fmt(variant.target)} msg/s`,
        done !== undefined && msgsPerSec >= variant.target,
      )
    } finally {
      db.close()
    }
  })
}

// --- (f) Twilio ------------------------------------------------------------------------------

/** The local Twilio-speaking server in its own process around `body`. */
async function withTwilioFake<T>(
  name: string,
  callbacks: readonly string[],
  body: (fake: TwilioFakeServer) => Promise<T>,
): Promise<T> {
  const prof = profileFor(`twilio-fake-${name}`)
  const fake = await TwilioFakeServer.start({
    maxMs: childMaxMs,
    callbacks,
    ...(prof ? { cpuProfileDir: prof } : {}),
  })
  try {
    return await body(fake)
  } finally {
    const peak = await fake.stop()
    twilioFakePeaks[name] = peak
    console.log(`  twilio-fake peak RSS during ${name}: ${mb(peak)}`)
    printProfile(prof, `twilio-fake, ${name}`)
  }
}
const twilioFakePeaks: Record<string, number> = {}

/** POST to `delivered` through the Twilio adapter, with signed status callbacks. */
async function runTwilioE2e(dir: string): Promise<void> {
  const callbacks = (flags['twilio-callbacks'] ?? '').split(',').filter(Boolean)
  if (callbacks.at(-1) !== 'delivered') fail('--twilio-callbacks must end with delivered')
  await withTwilioFake('e2e', callbacks, async (fake) => {
    const port = await freePort()
    await runE2e(dir, {
      part: 'twilio-e2e',
      figure: 'twilio end-to-end',
      target: TARGETS.twilioE2eMsgsPerSec,
      server: { role: 'all', env: twilioSwitchboardEnv(fake.url, port), port },
      alsoCpu: [{ name: 'twilio-fake', pid: fake.child.pid }],
      describe: (s) => {
        assertTwilio(s)
        console.log(
          `  twilio: Switchboard -> Messages API of the local Twilio-speaking server ${fake.url} ` +
            `-> ${callbacks.join(', ')} status callback(s) per message, signed with the twilio ` +
            'SDK, to PUBLIC_URL',
        )
      },
    })
  })
}

/** Stops a Twilio run that would measure another provider (a configuration not passed on). */
function assertTwilio(s: SwitchboardServer): void {
  const types = s.config.providers.map((p) => p.type)
  if (types.join() !== 'twilio') {
    throw new Error(`the server runs providers ${types.join(', ')}, not the Twilio instance`)
  }
}

/**
 * Signed delivery-report ingestion: `e2eMessages` messages are sent through the Twilio adapter
 * (the fake sends no callbacks) until all read `sent`; then one signed `delivered` callback each,
 * as Twilio sends it, over `connections` keep-alive connections. Each is answered only after it
 * was verified and durably applied, so the time from the first to the last answer is the figure.
 */
async function runTwilioIngest(dir: string): Promise<void> {
  const n = settings.e2eMessages
  const connections = settings.connections
  console.log(
    `\n[twilio-ingest] ${fmt(n)} messages sent through Twilio, then ${fmt(n)} signed ` +
      `delivered callbacks over ${connections} connections`,
  )
  assertValidDestinations(0, n)
  const bodies = batchBodies(0, n / settings.batchSize, settings.batchSize)
  await withTwilioFake('ingest', [], async (fake) => {
    const port = await freePort()
    const env = twilioSwitchboardEnv(fake.url, port)
    await withSwitchboard('twilio-ingest', dir, { role: 'all', env, port }, async (s) => {
      assertTwilio(s)
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${s.apiKey}` }
      for (const body of bodies) {
        const res = await fetch(`${s.url}/v1/messages/batch`, { method: 'POST', headers, body })
        if (res.status !== 202) throw new Error(`batch answered ${res.status}: ${await res.text()}`)
        await res.arrayBuffer()
      }
      const db = openReadOnly(s.dbPath)
      try {
        const sentCount = db.prepare("SELECT count(*) FROM messages WHERE status = 'sent'").pluck()
        const t0 = performance.now()
        while ((sentCount.get() as number) < n) {
          if (performance.now() - t0 > settings.e2eTimeoutMs) {
            throw new Error(`only ${String(sentCount.get())} of ${n} messages sent`)
          }
          await sleep(100)
        }
        console.log(
          `  ${fmt(n)} messages sent in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
        )
        const rows = db
          .prepare(
            'SELECT id, provider_message_id AS sid, to_number AS "to" FROM messages WHERE status = \'sent\'',
          )
          .all() as { id: string; sid: string; to: string }[]
        const publicUrl = env.PUBLIC_URL ?? ''
        const requests = rows.map((r) => {
          const path = `/webhooks/${TWILIO_BENCH.name}/status?ref=${r.id}`
          const params = {
            AccountSid: TWILIO_BENCH.accountSid,
            ApiVersion: '2010-04-01',
            MessageSid: r.sid,
            MessageStatus: 'delivered',
            MessagingServiceSid: TWILIO_BENCH.messagingServiceSid,
            RawDlrDoneDate: '2612011200',
            SmsSid: r.sid,
            SmsStatus: 'delivered',
            To: r.to,
          }
          const signature = getExpectedTwilioSignature(
            TWILIO_BENCH.authToken,
            `${publicUrl}${path}`,
            params,
          )
          return {
            path,
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              'x-twilio-signature': signature,
            },
            body: new URLSearchParams(params).toString(),
          }
        })
        const pool = new Pool(s.url, { connections, pipelining: 1 })
        const codes: Record<string, number> = {}
        let next = 0
        const post = async () => {
          while (next < requests.length) {
            const r = requests[next++]
            if (!r) break
            const res = await pool.request({ method: 'POST', ...r })
            await res.body.dump()
            codes[res.statusCode] = (codes[res.statusCode] ?? 0) + 1
          }
        }
        const fromUs = windowStart()
        const cpuAtStart = cpuSeconds(s.child.pid) ?? Number.NaN
        const started = performance.now()
        await Promise.all(Array.from({ length: connections }, post))
        const elapsed = (performance.now() - started) / 1000
        windowEnd(fromUs)
        const cpu = Math.round(((cpuSeconds(s.child.pid) ?? Number.NaN) - cpuAtStart) * 100) / 100
        console.log(
          `  switchboard CPU time in the window: ${cpu} s ` +
            `(${((cpu * 1e3) / requests.length).toFixed(3)} ms per callback)`,
        )
        await pool.close()
        const delivered = db
          .prepare("SELECT count(*) FROM messages WHERE status = 'delivered'")
          .pluck()
          .get() as number
        const perSec = Math.round(requests.length / elapsed)
        console.log(
          `[twilio-ingest] ${fmt(requests.length)} callbacks in ${elapsed.toFixed(2)} s = ` +
            `${fmt(perSec)}/s; answers ${JSON.stringify(codes)}; delivered ${fmt(delivered)}`,
        )
        results['twilio-ingest'] = {
          cpuSeconds: cpu,
          callbacks: requests.length,
          seconds: elapsed,
          perSec,
          codes,
          delivered,
        }
        check(
          'twilio callbacks non-204',
          String(requests.length - (codes['204'] ?? 0)),
          '0',
          codes['204'] === requests.length,
        )
        check(
          'twilio callbacks applied',
          `${fmt(delivered)} delivered`,
          `${fmt(n)}`,
          delivered === n,
        )
        check(
          'twilio ingestion',
          `${fmt(perSec)} callbacks/s`,
          `>= ${fmt(TARGETS.twilioIngestPerSec)}/s`,
          perSec >= TARGETS.twilioIngestPerSec && delivered === n,
        )
      } finally {
        db.close()
      }
    })
  })
}

// --- preview ---------------------------------------------------------------------------------

/**
 * POST /v1/templates/preview as an editor calls it on every keystroke: a saved template whose
 * text renders to 1,600 characters (UCS-2, with look-alike punctuation smart encoding would
 * replace, and typed variables), and the same text as an unsaved body, alternately, against a
 * price table of about 40 entries. A fixed rate, so the latency is the preview's, not a queue's.
 */
async function runPreview(dir: string): Promise<void> {
  console.log(
    `\n[preview] POST /v1/templates/preview, ${settings.previewConnections} connections at ` +
      `${settings.previewRate} req/s, ${settings.warmupS} s warm-up + ${settings.durationS} s`,
  )
  const countries = ['US', 'CA', 'GB', 'DE', 'FR', 'BR', 'PT', 'ES', 'IT', 'MX']
  const prices = countries.flatMap((country, i) =>
    [0, 1, 2, 3].map((k) => ({
      provider: 'simulator',
      country:
        k === 0 ? country : `${country[0] ?? 'X'}${String.fromCharCode(65 + ((i + k) % 26))}`,
      price: 0.005 + i * 0.001 + k * 0.0001,
      currency: 'USD',
    })),
  )
  const unique = [...new Map(prices.map((p) => [p.country, p])).values()]
  const line = 'Olá {{ first_name }}, seu pedido de {{ total }} chega em {{ eta }} – “obrigado”! '
  let body = ''
  while (body.length < 1_760) body += line
  const variables = {
    first_name: { type: 'string' },
    total: { type: 'currency' },
    eta: { type: 'date' },
  }
  const values = {
    first_name: 'Ana',
    total: { amount: 1234.5, currency: 'BRL' },
    eta: '2026-03-05',
  }
  await withSwitchboard(
    'preview',
    dir,
    role,
    async (s) => {
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${s.apiKey}` }
      const created = await fetch(`${s.url}/v1/templates`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'bench', locale: 'pt-BR', body, variables }),
      })
      if (created.status !== 201)
        throw new Error(`template: ${created.status} ${await created.text()}`)
      const saved = JSON.stringify({ template: 'bench', locale: 'pt-BR', variables: values })
      const res = await fetch(`${s.url}/v1/templates/preview`, {
        method: 'POST',
        headers,
        body: saved,
      })
      const first = (await res.json()) as { text?: string; segments?: number; cost?: unknown[] }
      if (res.status !== 200)
        throw new Error(`preview probe: ${res.status} ${JSON.stringify(first)}`)
      const text = first.text ?? ''
      console.log(
        `  rendered text: ${fmt(text.length)} characters, ${first.segments} segments, ` +
          `${first.cost?.length} prices`,
      )
      const unsaved = JSON.stringify({ body: text })
      const fromUs = windowStart()
      const bodies = [saved, unsaved]
      const f = await paced({
        url: s.url,
        rate: settings.previewRate,
        connections: settings.previewConnections,
        warmupS: settings.warmupS,
        durationS: settings.durationS,
        request: (i) => ({
          method: 'POST',
          path: '/v1/templates/preview',
          headers,
          body: bodies[i % 2],
        }),
      })
      windowEnd(fromUs)
      printHttp('preview', f)
      results.preview = { ...f, textLength: text.length, segments: first.segments }
      checkNoFailures('preview', f)
      check(
        'preview p99 (1,600 characters)',
        `${f.p99Ms} ms`,
        `< ${TARGETS.previewP99Ms} ms`,
        f.p99Ms < TARGETS.previewP99Ms,
      )
    },
    { PRICES: JSON.stringify(unique) },
  )
}

// --- (e) segments ----------------------------------------------------------------------------

async function runSegments(): Promise<void> {
  console.log(
    `\n[segments] analyzeBody vs sms-segments-calculator, ${fmt(settings.segmentsCount)} bodies`,
  )
  const { runSegmentsBench } = await import('./segments.bench.js')
  const r = await runSegmentsBench({ count: settings.segmentsCount })
  console.log(
    `[segments] ours ${fmt(r.oursPerSec)}/s, sms-segments-calculator ${fmt(r.oraclePerSec)}/s, ` +
      `${r.ratio}x; identical: ${r.identical} (${r.mismatches} mismatches of ${fmt(r.corpus)})`,
  )
  results.segments = r
  check(
    'segments',
    `${r.ratio}x, ${r.mismatches} mismatches`,
    `>= ${TARGETS.segmentsRatio}x, identical`,
    r.ratio >= TARGETS.segmentsRatio && r.identical,
  )
}

// --- (f) pacing ------------------------------------------------------------------------------

/**
 * A sender limited to `pacingMps` (its route's only sender) with a backlog of `pacingMessages`
 * one-segment messages, measured where the requests arrive: a local gateway speaking the
 * simulator's HTTP API. The achieved rate is over the whole run (first to last arrival); the worst second is
 * the most arrivals any sliding one-second window holds.
 */
async function runPacing(dir: string): Promise<void> {
  const mps = settings.pacingMps
  const n = settings.pacingMessages
  console.log(
    `\n[pacing] ${fmt(n)} messages queued at once for a ${mps} mps sender ` +
      `(about ${Math.round(n / mps)} s), measured at the provider`,
  )
  const gateway = await startFakeProvider()
  try {
    // One route whose one sender is limited: every message goes out from it (sticky sender).
    const sender = '+14155550100'
    const env = {
      PROVIDERS: JSON.stringify([gateway.entry('paced')]),
      ROUTES: JSON.stringify([{ providers: ['paced'], senders: [{ from: sender, mps }] }]),
    }
    await withSwitchboard(
      'pacing',
      dir,
      'all',
      async (s) => {
        const headers = { 'content-type': 'application/json', authorization: `Bearer ${s.apiKey}` }
        assertValidDestinations(0, n)
        for (const body of batchBodies(0, n / settings.batchSize, settings.batchSize)) {
          const res = await fetch(`${s.url}/v1/messages/batch`, { method: 'POST', headers, body })
          if (res.status !== 202)
            throw new Error(`batch answered ${res.status}: ${await res.text()}`)
        }
        const deadline = performance.now() + (n / mps) * 1500 + 30_000
        while (gateway.arrivals.length < n && performance.now() < deadline) await sleep(200)
        const times = gateway.arrivals.map((a) => a.at).sort((a, b) => a - b)
        const count = times.length
        const seconds = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000
        const rate = count > 1 ? (count - 1) / seconds : 0
        const worst = worstSecond(gateway.arrivals)
        const unique = new Set(gateway.arrivals.map((a) => a.id)).size
        const fromSender = gateway.arrivals.filter((a) => a.from === sender).length
        // A gap of one and a half spacings or more: a slot nobody used (a send that woke late
        // and booked again, or a backlog that did not come back in time).
        const spacing = (1000 + s.config.pacing.marginMs) / mps
        const missed = times.slice(1).filter((x, i) => x - (times[i] ?? x) >= 1.5 * spacing).length
        console.log(
          `[pacing] ${fmt(count)} arrivals (${fmt(unique)} distinct) in ${seconds.toFixed(2)} s = ` +
            `${rate.toFixed(2)} per second (${((rate / mps) * 100).toFixed(1)}% of ${mps}); ` +
            `worst one-second window ${worst}; ${missed} gaps of 1.5 slots or more`,
        )
        results.pacing = {
          mps,
          messages: n,
          arrived: count,
          distinct: unique,
          seconds: Math.round(seconds * 1000) / 1000,
          ratePerSec: Math.round(rate * 100) / 100,
          useOfLimit: Math.round((rate / mps) * 1000) / 1000,
          worstSecond: worst,
          marginMs: s.config.pacing.marginMs,
          missedSlotGaps: missed,
        }
        check(
          'pacing rate',
          `${rate.toFixed(2)}/s = ${((rate / mps) * 100).toFixed(1)}% of ${mps} mps`,
          `>= ${TARGETS.pacingUse * 100}%`,
          count === n && unique === n && fromSender === n && rate >= TARGETS.pacingUse * mps,
        )
        check('pacing worst second', String(worst), `<= ${mps}`, worst <= mps)
      },
      env,
    )
  } finally {
    await gateway.close()
  }
}

// ---------------------------------------------------------------------------------------------

/** Linux pressure stall information: % of time some runnable task waited for a CPU. */
function cpuPressure(): { avg10: number; avg60: number } | null {
  try {
    const line = readFileSync('/proc/pressure/cpu', 'utf8')
    const avg10 = Number(/avg10=([\d.]+)/.exec(line)?.[1])
    const avg60 = Number(/avg60=([\d.]+)/.exec(line)?.[1])
    return Number.isFinite(avg10) && Number.isFinite(avg60) ? { avg10, avg60 } : null
  } catch {
    return null
  }
}

// --- verify-check ----------------------------------------------------------------------------

/**
 * `POST /v1/verifications/check` at a fixed 1,000 checks/s against a real server. Pending
 * verifications are made first (their codes read back from the simulated phones, as a user
 * would); the load then checks each one four times with a wrong code and once with the right
 * one, the five checks of a verification a few hundred apart (in rounds over blocks), so the
 * answers are `pending` then `approved`: no lock, no 4xx, no 5xx.
 */
async function runVerifyCheck(dir: string): Promise<void> {
  const rate = TARGETS.verifyCheckRate
  const needed = Math.ceil(((settings.warmupS + settings.durationS) * rate * 1.1) / 5)
  console.log(
    `\n[verify-check] POST /v1/verifications/check at ${fmt(rate)}/s, ${settings.warmupS} s ` +
      `warm-up + ${settings.durationS} s, over ${fmt(needed)} pending verifications`,
  )
  assertValidDestinations(0, needed)
  // The bench starts its verifications from one client on a few number ranges, which the abuse
  // protection would (rightly) stop: its limits are off here, the check path is what is measured.
  const env = {
    VERIFY_LIMITS: JSON.stringify({ number: null, ip: null, prefix: null, burst: null }),
  }
  await withSwitchboard(
    'verify-check',
    dir,
    'all',
    async (s) => {
      const pool = new Pool(s.url, { connections: 16 })
      const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
        const res = await pool.request({
          method,
          path,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${s.apiKey}` },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        })
        const text = await res.body.text()
        return { status: res.statusCode, json: JSON.parse(text) as Record<string, unknown> }
      }
      const inParallel = async (n: number, f: (i: number) => Promise<void>) => {
        let next = 0
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            for (let i = next++; i < n; i = next++) await f(i)
          }),
        )
      }
      try {
        const ids: string[] = []
        const started = performance.now()
        await inParallel(needed, async (i) => {
          const r = await call('POST', '/v1/verifications', { to: destination(i), ttl: 3600 })
          if (r.status !== 201)
            throw new Error(`start answered ${r.status}: ${JSON.stringify(r.json)}`)
          ids[i] = r.json.id as string
        })
        console.log(
          `  ${fmt(needed)} verifications started in ${fmt(performance.now() - started)} ms`,
        )
        const codes: string[] = []
        const deadline = Date.now() + 120_000
        await inParallel(needed, async (i) => {
          for (;;) {
            const r = await call(
              'GET',
              `/v1/simulator/phones/${encodeURIComponent(destination(i))}/messages`,
            )
            const text = (r.json.data as { body: string }[] | undefined)?.[0]?.body ?? ''
            const code = /\b(\d{6})\b/.exec(text)?.[1]
            if (code) {
              codes[i] = code
              return
            }
            if (Date.now() > deadline) throw new Error(`no code on the phone of verification ${i}`)
            await sleep(100)
          }
        })
        // Rounds over blocks of 250: four wrong codes, then the right one.
        const bodies: string[] = []
        const block = 250
        for (let b = 0; b < needed; b += block) {
          for (let round = 0; round < 5; round++) {
            for (let i = b; i < Math.min(b + block, needed); i++) {
              const right = codes[i] as string
              const wrong = String((Number(right) + 1 + round) % 1_000_000).padStart(6, '0')
              bodies.push(JSON.stringify({ id: ids[i], code: round === 4 ? right : wrong }))
            }
          }
        }
        let k = 0
        const fromUs = windowStart()
        const f = await paced({
          url: s.url,
          rate,
          connections: 20,
          warmupS: settings.warmupS,
          durationS: settings.durationS,
          request: () => ({
            method: 'POST',
            path: '/v1/verifications/check',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${s.apiKey}` },
            body: bodies[k++ % bodies.length],
          }),
        })
        windowEnd(fromUs)
        printHttp('verify-check', f)
        console.log(`  status codes: ${JSON.stringify(f.statusCodes)}`)
        results.verifyCheck = { ...f, verifications: needed, checksSent: k }
        checkNoFailures('verify-check', f)
        check(
          'verify-check p99',
          `${f.p99Ms} ms at ${fmt(f.reqPerSec)}/s`,
          `< ${TARGETS.verifyCheckP99Ms} ms at ${fmt(rate)}/s`,
          f.p99Ms < TARGETS.verifyCheckP99Ms,
        )
      } finally {
        await pool.close()
      }
    },
    env,
  )
}

// --- stats ----------------------------------------------------------------------------------

/** GET /v1/stats over a database of `statsMessages` messages spread over 30 days. */
async function runStats(dir: string): Promise<void> {
  const n = settings.statsMessages
  console.log(`\n[stats] GET /v1/stats over ${fmt(n)} messages in 30 days (SQLite)`)
  const now = Date.now()
  const built = await buildStatsDatabase(join(dir, 'bench.db'), n, now)
  console.log(
    `  built in ${fmt(built.insertS, 1)} s; rolled up in ${fmt(built.rollupS, 1)} s ` +
      `(${fmt(built.rollupRows)} rollup rows, ${fmt(built.pending)} pending)`,
  )
  results.statsBuild = built
  await withSwitchboard('stats', dir, role, async (s) => {
    const fromUs = windowStart()
    const figures = await measureStats(s.url, s.apiKey, now, settings.statsRequests)
    windowEnd(fromUs)
    results.stats = figures
    for (const f of figures) {
      console.log(
        `  ${f.query}: p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, max ${f.maxMs} ms (${fmt(f.bytes)} bytes)`,
      )
      check(
        `stats p99, ${f.query} (${fmt(n)} messages)`,
        `${f.p99Ms} ms`,
        `< ${TARGETS.statsP99Ms} ms`,
        f.p99Ms < TARGETS.statsP99Ms,
      )
    }
  })
}

const loadAvg = () => loadavg().map((l) => Math.round(l * 100) / 100)

async function main(): Promise<void> {
  const startedAt = new Date()
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: loadAvg(),
    cpuPressureAtStart: cpuPressure(),
    loadAverageAtEnd: [] as number[],
    cpuPressureAtEnd: null as ReturnType<typeof cpuPressure>,
  }
  console.log(
    `Switchboard benchmarks ${startedAt.toISOString()}${quick ? ' (quick)' : ''}: ` +
      `${[...selected].join(', ')}\n${machine.cpus} x ${machine.cpuModel}, ` +
      `${machine.memoryGb} GB, Node ${machine.node}, load average ${machine.loadAverageAtStart.join(' ')}` +
      (machine.cpuPressureAtStart
        ? `, CPU pressure avg10 ${machine.cpuPressureAtStart.avg10}%`
        : ''),
  )
  // The server runs as `npm start` runs it: compiled, without a TypeScript loader.
  const build = spawnSync(
    process.execPath,
    [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.build.json'],
    {
      cwd: REPO_ROOT,
      stdio: 'inherit',
    },
  )
  if (build.status !== 0) throw new Error('npm run build failed')
  const tmp = mkdtempSync(join(tmpdir(), 'switchboard-bench-'))
  if (flags.profile) {
    profileDir = join(
      REPO_ROOT,
      '.tmp',
      'bench-profiles',
      startedAt.toISOString().replace(/[:.]/g, '-'),
    )
    mkdirSync(profileDir, { recursive: true })
    console.log(`CPU profiles: ${profileDir}`)
  }
  let failed: Error | undefined
  try {
    for (let round = 1; round <= settings.rounds; round++) {
      const bare = selected.has('bare') ? await runBare(round) : undefined
      if (selected.has('intake')) await runIntake(join(tmp, `intake-${round}`), bare, round)
    }
    if (bareRounds.length > 0) results.bare = bareRounds
    if (intakeRounds.length > 0) {
      results.intake = intakeRounds
      checkIntake()
    }
    if (selected.has('batch')) await runBatch(join(tmp, 'batch'))
    if (selected.has('e2e')) await runE2e(join(tmp, 'e2e'))
    if (selected.has('segments')) await runSegments()
    if (selected.has('pacing')) await runPacing(join(tmp, 'pacing'))
    if (selected.has('twilio-e2e')) await runTwilioE2e(join(tmp, 'twilio-e2e'))
    if (selected.has('twilio-ingest')) await runTwilioIngest(join(tmp, 'twilio-ingest'))
    if (selected.has('preview')) await runPreview(join(tmp, 'preview'))
    if (selected.has('verify-check')) await runVerifyCheck(join(tmp, 'verify-check'))
    if (selected.has('stats')) await runStats(join(tmp, 'stats'))
    if (Object.keys(twilioFakePeaks).length > 0) results.twilioFakePeakRss = twilioFakePeaks
  } catch (err) {
    failed = err instanceof Error ? err : new Error(String(err))
  } finally {
    await stopAll()
    if (flags.keep) console.log(`databases kept in ${tmp}`)
    else rmSync(tmp, { recursive: true, force: true })
  }

  machine.loadAverageAtEnd = loadAvg()
  machine.cpuPressureAtEnd = cpuPressure()
  const serverPeaks = Object.entries(peaks).filter(([k]) => !k.startsWith('bare'))
  if (serverPeaks.length > 0) {
    const [phase, peak] = serverPeaks.reduce((a, b) => (b[1] > a[1] ? b : a))
    results.peakRss = {
      bytes: peak,
      mb: Math.round(peak / 1024 / 102.4) / 10,
      phase,
      byPhase: peaks,
    }
    console.log(`\n[rss] switchboard peak RSS ${mb(peak)} (during ${phase})`)
    check('peak RSS', mb(peak), `< ${mb(TARGETS.peakRssBytes)}`, peak < TARGETS.peakRssBytes)
  }
  if (durability) {
    console.log(
      `[durability] SQLite journal_mode=${durability.journalMode}, synchronous=${durability.synchronous}`,
    )
  }

  console.log('\n| figure | value | target | result |\n|---|---|---|---|')
  for (const c of checks) {
    console.log(`| ${c.figure} | ${c.value} | ${c.target} | ${c.pass ? 'PASS' : 'FAIL'} |`)
  }
  const summary = {
    date: startedAt.toISOString(),
    quick,
    parts: [...selected],
    settings: { ...settings, role },
    machine,
    durability: durability ?? null,
    results,
    checks,
    pass: failed === undefined && checks.every((c) => c.pass),
    error: failed?.message ?? null,
  }
  console.log('\nJSON summary:')
  console.log(JSON.stringify(summary, null, 2))
  if (failed !== undefined) {
    console.error(failed)
    process.exitCode = 1
  } else if (flags.strict && !summary.pass) {
    process.exitCode = 1
  }
}

const deadline = setTimeout(() => {
  console.error(`bench: still running after ${budgetMs / 1000} s; stopping`)
  void stopAll().finally(() => process.exit(1))
}, budgetMs)
deadline.unref()
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopAll().finally(() => process.exit(130))
  })
}

await main()
clearTimeout(deadline)

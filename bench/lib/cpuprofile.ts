import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { REPO_ROOT } from './proc.js'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

export interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

/** A time window in microseconds of CLOCK_MONOTONIC (`process.hrtime` in any process). */
export interface ProfileWindow {
  fromUs: number
  toUs: number
}

/** Now on the clock V8 stamps profile samples with, in microseconds. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n)

export interface ProfileRow {
  name: string
  ms: number
  pct: number
}

export interface ProfileSummary {
  totalMs: number
  /** Self time by function. */
  selfByFunction: ProfileRow[]
  /** Self time by where the code lives: a file of ours, an npm package, node internals, GC. */
  selfByArea: ProfileRow[]
  /** Inclusive time of our own (src/) functions. */
  inclusiveOurs: ProfileRow[]
}

function where(url: string): string {
  if (url === '') return ''
  if (url.startsWith('node:')) return 'node:internal'
  const path = url.startsWith('file:') ? fileURLToPath(url) : url
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)
  if (pkg) return `npm:${pkg[1]}`
  const rel = relative(REPO_ROOT, path)
  // The --profile SQL timer wraps every statement: its self time is SQLite's native work.
  if (rel === join('bench', 'sql-timing.ts')) return 'SQLite (native statement execution)'
  return rel.startsWith('..') ? path : rel
}

function label(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame
  const loc = where(url)
  const fn = functionName || '(anonymous)'
  if (!loc) return fn
  // Code run through tsx reports line 1 for everything: leave that out.
  return lineNumber > 0 ? `${fn} ${loc}:${lineNumber + 1}` : `${fn} ${loc}`
}

function area(n: ProfileNode): string {
  const loc = where(n.callFrame.url)
  if (loc) return loc
  const fn = n.callFrame.functionName
  // Native frames without a script: GC, idle, the VM itself, or a builtin (e.g. JSON.parse).
  return fn.startsWith('(') ? fn : `native:${fn || '(anonymous)'}`
}

function top(map: Map<string, number>, msPerHit: number, total: number, n: number): ProfileRow[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, hits]) => ({
      name,
      ms: Math.round(hits * msPerHit),
      pct: Math.round((hits / total) * 1000) / 10,
    }))
}

/** Every thread's profile among the .cpuprofile files in `dir`, the busiest first. */
export function threadProfiles(dir: string): CpuProfile[] {
  const busy = (p: CpuProfile) =>
    p.nodes
      .filter((n) => n.callFrame.functionName !== '(idle)')
      .reduce((s, n) => s + (n.hitCount ?? 0), 0)
  return readdirSync(dir)
    .filter((x) => x.endsWith('.cpuprofile'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile)
    .map((p) => ({ p, busy: busy(p) }))
    .sort((a, b) => b.busy - a.busy)
    .map((x) => x.p)
}

/** The busiest thread's profile (most non-idle samples) among the .cpuprofile files in `dir`. */
export function mainThreadProfile(dir: string): CpuProfile {
  const best = threadProfiles(dir)[0]
  if (!best) throw new Error(`no .cpuprofile in ${dir}`)
  return best
}

/**
 * Summarises a V8 CPU profile (as written by `node --cpu-prof`), counting only the samples taken
 * inside `window` when one is given (so start-up and shutdown do not blur the picture).
 */
export function summariseProfile(p: CpuProfile, window?: ProfileWindow, rows = 25): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const hitsOf = new Map<number, number>()
  let totalMs = (p.endTime - p.startTime) / 1000
  if (window && p.samples && p.timeDeltas) {
    let t = p.startTime
    p.samples.forEach((id, i) => {
      t += p.timeDeltas?.[i] ?? 0
      if (t >= window.fromUs && t <= window.toUs) hitsOf.set(id, (hitsOf.get(id) ?? 0) + 1)
    })
    totalMs = (Math.min(window.toUs, p.endTime) - Math.max(window.fromUs, p.startTime)) / 1000
  } else {
    for (const n of p.nodes) hitsOf.set(n.id, n.hitCount ?? 0)
  }
  const hitsFor = (n: ProfileNode) => hitsOf.get(n.id) ?? 0
  const totalHits = [...hitsOf.values()].reduce((a, b) => a + b, 0) || 1
  const msPerHit = totalMs / totalHits

  const self = new Map<string, number>()
  const areas = new Map<string, number>()
  for (const n of p.nodes) {
    const hits = hitsFor(n)
    if (hits === 0) continue
    self.set(label(n), (self.get(label(n)) ?? 0) + hits)
    areas.set(area(n), (areas.get(area(n)) ?? 0) + hits)
  }

  // Inclusive time of src/ functions: each sample counts once per function on its stack.
  const inclusive = new Map<string, number>()
  const root = p.nodes[0]
  const walk = (n: ProfileNode, onStack: Set<string>): number => {
    let hits = hitsFor(n)
    const key = where(n.callFrame.url).startsWith('src/') ? label(n) : undefined
    const counted = key !== undefined && !onStack.has(key)
    if (counted) onStack.add(key)
    for (const c of n.children ?? []) {
      const child = byId.get(c)
      if (child) hits += walk(child, onStack)
    }
    if (counted) {
      onStack.delete(key)
      inclusive.set(key, (inclusive.get(key) ?? 0) + hits)
    }
    return hits
  }
  if (root) walk(root, new Set())

  return {
    totalMs: Math.round(totalMs),
    selfByFunction: top(self, msPerHit, totalHits, rows),
    selfByArea: top(areas, msPerHit, totalHits, rows),
    inclusiveOurs: top(inclusive, msPerHit, totalHits, rows),
  }
}

/** The summary as printable text. */
export function formatProfile(title: string, s: ProfileSummary): string {
  const table = (head: string, r: ProfileRow[]) =>
    [
      head,
      ...r.map(
        (x) => `  ${x.pct.toFixed(1).padStart(5)}%  ${String(x.ms).padStart(7)} ms  ${x.name}`,
      ),
    ].join('\n')
  return [
    `--- CPU profile: ${title} (${s.totalMs} ms wall) ---`,
    table('self time by area:', s.selfByArea),
    table('self time by function:', s.selfByFunction),
    table('inclusive time, src/ functions:', s.inclusiveOurs),
  ].join('\n')
}

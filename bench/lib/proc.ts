import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** The repository root (bench/lib/../..), so children run with the repo as cwd. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const WATCHDOG = pathToFileURL(join(REPO_ROOT, 'bench', 'watchdog.mjs')).href

/** Every child still running, so that any exit path of the benchmark can stop them. */
const live = new Set<Child>()

export interface SpawnOptions {
  /** Shown in messages. */
  name: string
  /** Repo-relative script; `.ts` scripts and `.ts` preloads run under tsx, `.js` ones without. */
  script: string
  args?: string[]
  env: NodeJS.ProcessEnv
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[]
  /** Repo-relative modules preloaded after tsx and the watchdog. */
  preload?: string[]
  /** Wall-clock limit after which the child stops itself. */
  maxMs: number
}

/** A node process started by the benchmark, with its output lines and exit. */
export class Child {
  readonly proc: ChildProcess
  readonly pid: number
  readonly exited: Promise<number | null>
  readonly #tail: string[] = []
  readonly #listeners = new Set<(line: string) => void>()
  #exitCode: number | null | undefined

  constructor(readonly o: SpawnOptions) {
    this.proc = spawn(
      process.execPath,
      [
        ...(o.nodeArgs ?? []),
        ...([o.script, ...(o.preload ?? [])].some((f) => f.endsWith('.ts'))
          ? ['--import', 'tsx']
          : []),
        '--import',
        WATCHDOG,
        ...(o.preload ?? []).flatMap((m) => ['--import', pathToFileURL(join(REPO_ROOT, m)).href]),
        o.script,
        ...(o.args ?? []),
      ],
      {
        cwd: REPO_ROOT,
        env: { ...o.env, BENCH_CHILD_MAX_MS: String(o.maxMs) },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      },
    )
    if (this.proc.pid === undefined) throw new Error(`could not start ${o.name}`)
    this.pid = this.proc.pid
    live.add(this)
    this.exited = new Promise((res) => {
      this.proc.once('exit', (code, signal) => {
        this.#exitCode = code ?? (signal ? null : 0)
        live.delete(this)
        res(this.#exitCode)
      })
    })
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      if (!stream) continue
      // Always drain the pipes: a full pipe would block the child's logger.
      createInterface({ input: stream }).on('line', (line) => {
        this.#tail.push(line)
        if (this.#tail.length > 40) this.#tail.shift()
        for (const l of this.#listeners) l(line)
      })
    }
  }

  get running(): boolean {
    return this.#exitCode === undefined
  }

  /** The last lines of output, for error messages. */
  tail(): string {
    return this.#tail.join('\n')
  }

  /** Resolves with the first non-undefined `match(line)`; rejects on exit or after `timeoutMs`. */
  waitFor<T>(what: string, match: (line: string) => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((res, rej) => {
      const done = (err: Error | null, value?: T) => {
        clearTimeout(timer)
        this.#listeners.delete(listener)
        if (err) rej(err)
        else res(value as T)
      }
      const listener = (line: string) => {
        const v = match(line)
        if (v !== undefined) done(null, v)
      }
      const timer = setTimeout(
        () => done(new Error(`${this.o.name}: no ${what} after ${timeoutMs} ms\n${this.tail()}`)),
        timeoutMs,
      )
      this.#listeners.add(listener)
      void this.exited.then((code) =>
        done(new Error(`${this.o.name} exited (${code}) before ${what}\n${this.tail()}`)),
      )
    })
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return
    this.proc.kill('SIGTERM')
    const timer = setTimeout(() => {
      if (this.running) this.proc.kill('SIGKILL')
    }, graceMs)
    await this.exited
    clearTimeout(timer)
  }
}

/** Stops every child the benchmark started that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop(5_000)))
}

export interface MemoryStatus {
  /** Resident set size now, bytes. */
  rss: number
  /** Peak resident set size ("high water mark") since start, bytes. */
  hwm: number
}

/** Reads VmRSS and VmHWM of `pid` from /proc; undefined where /proc is missing or it exited. */
export function memoryStatus(pid: number): MemoryStatus | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return undefined
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1])
  const rss = kb('VmRSS') * 1024
  const hwm = kb('VmHWM') * 1024
  return Number.isFinite(rss) && Number.isFinite(hwm) ? { rss, hwm } : undefined
}

/** Polls VmRSS of a process; `stop()` returns the peak seen, at least the kernel's VmHWM. */
export class RssSampler {
  #peak = 0
  readonly #timer: NodeJS.Timeout

  constructor(
    private readonly pid: number,
    intervalMs = 250,
  ) {
    this.#timer = setInterval(() => this.#sample(), intervalMs)
    this.#timer.unref()
    this.#sample()
  }

  #sample(): MemoryStatus | undefined {
    const m = memoryStatus(this.pid)
    if (m) this.#peak = Math.max(this.#peak, m.rss, m.hwm)
    return m
  }

  /** Peak RSS in bytes (0 when /proc is unavailable). */
  stop(): number {
    clearInterval(this.#timer)
    this.#sample()
    return this.#peak
  }
}

/**
 * CPU time `pid` has used so far (user + system, all its threads), in seconds, from
 * /proc/<pid>/stat; undefined where /proc is missing or it exited. Unlike a profile's busy
 * share, this does not grow when other processes keep the machine's cores busy.
 */
export function cpuSeconds(pid: number): number | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime
  // are fields 14 and 15, in clock ticks (100 per second on Linux).
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return Number.isFinite(ticks) ? ticks / 100 : undefined
}

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Sqlite from 'better-sqlite3'
import { loadConfig, type Config } from '../../src/config.js'
import { Child, REPO_ROOT, RssSampler } from './proc.js'

/** The node flags of `npm start` (package.json), so the server runs exactly as it does there. */
export function startScriptNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>
  }
  const m = /\bnode((?: --?[\w-]+(?:=\S+)?)*) dist\/cli\/run\.js start\b/.exec(
    pkg.scripts.start ?? '',
  )
  if (!m) throw new Error('package.json "start" does not run node dist/cli/run.js start')
  return (m[1] ?? '').trim().split(/\s+/).filter(Boolean)
}

export interface StartOptions {
  /** Fresh directory for this server's database. */
  dir: string
  /** Wall-clock limit after which the server stops itself. */
  maxMs: number
  /** `start --role`: `all` (HTTP + workers + simulator) or `api` (HTTP intake only). */
  role?: 'all' | 'api'
  /**
   * Write V8 CPU profiles of the whole run into this directory: one file per thread (the tsx
   * loader hooks run on a thread of their own).
   */
  cpuProfileDir?: string
  /** Time every SQL statement (bench/sql-timing.ts), writing snapshots to `<file>.<n>.json`. */
  sqlTimingFile?: string
  /** More node flags, for diagnostics (e.g. `--heapsnapshot-signal=SIGUSR1`). */
  nodeArgs?: string[]
  /** More configuration (`PROVIDERS`, `PUBLIC_URL`...), over the defaults below. */
  env?: Record<string, string>
  /** Listen on this port instead of a free one (a `PUBLIC_URL` must name it beforehand). */
  port?: number
}

function profileArgs(dir: string | undefined): string[] {
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []
}

/**
 * A running Switchboard (`dist/cli/run.js start`, as `npm start` runs it) on SQLite with the
 * in-process simulator, or the providers `env` configures.
 */
export class SwitchboardServer {
  readonly rss: RssSampler

  private constructor(
    readonly child: Child,
    readonly url: string,
    readonly apiKey: string,
    readonly dbPath: string,
    readonly durability: { journalMode: string; synchronous: string },
    /** The configuration the server reads from the environment it was given. */
    readonly config: Config,
  ) {
    this.rss = new RssSampler(child.pid)
  }

  static async start(o: StartOptions): Promise<SwitchboardServer> {
    const dbPath = join(o.dir, 'bench.db')
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BENCH_SQL_TIMING_FILE: o.sqlTimingFile ?? '',
      DATABASE_URL: `sqlite:${dbPath}`,
      PORT: String(o.port ?? 0),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: '2000',
      // Settings a developer shell may carry that would change what is measured.
      SWITCHBOARD_CONFIG: '',
      SIMULATOR_URL: '',
      WEBHOOK_ENDPOINTS: '',
      PROVIDERS: '',
      PUBLIC_URL: '',
      ...o.env,
    }
    const config = loadConfig(env)
    if (config.database.kind !== 'sqlite') throw new Error('expected the SQLite store')
    const child = new Child({
      name: 'switchboard',
      script: 'dist/cli/run.js',
      args: ['start', '--role', o.role ?? 'all'],
      env,
      nodeArgs: [...startScriptNodeFlags(), ...profileArgs(o.cpuProfileDir), ...(o.nodeArgs ?? [])],
      preload: o.sqlTimingFile ? ['bench/sql-timing.ts'] : [],
      maxMs: o.maxMs,
    })
    try {
      const [url, apiKey] = await Promise.all([
        child.waitFor('listening log line', listeningUrl, 30_000),
        child.waitFor('admin key', (l) => /\b(sb_live_[0-9A-Za-z]{38})\b/.exec(l)?.[1], 30_000),
      ])
      const db = new Sqlite(dbPath, { readonly: true, fileMustExist: true })
      const journalMode = String(db.pragma('journal_mode', { simple: true }))
      db.close()
      return new SwitchboardServer(
        child,
        url,
        apiKey,
        dbPath,
        {
          journalMode,
          synchronous: config.database.synchronous,
        },
        config,
      )
    } catch (err) {
      await child.stop(2_000)
      throw err
    }
  }

  /** With `sqlTimingFile`: asks the server to write its SQL timings so far and start over. */
  snapshotSqlTiming(): void {
    if (this.child.running) process.kill(this.child.pid, 'SIGUSR2')
  }

  /** Stops the server; returns its peak RSS in bytes. */
  async stop(): Promise<number> {
    const peak = this.rss.stop()
    await this.child.stop()
    return peak
  }
}

function listeningUrl(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    const entry = JSON.parse(line) as { msg?: unknown; url?: unknown }
    return entry.msg === 'switchboard listening' && typeof entry.url === 'string'
      ? entry.url
      : undefined
  } catch {
    return undefined
  }
}

/** The bare Fastify ceiling (bench/bare-server.ts). */
export class BareServer {
  readonly rss: RssSampler

  private constructor(
    readonly child: Child,
    readonly url: string,
  ) {
    this.rss = new RssSampler(child.pid)
  }

  static async start(o: { maxMs: number; cpuProfileDir?: string }): Promise<BareServer> {
    const child = new Child({
      name: 'bare-server',
      script: 'bench/bare-server.ts',
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
      nodeArgs: profileArgs(o.cpuProfileDir),
      maxMs: o.maxMs,
    })
    try {
      const url = await child.waitFor(
        'url line',
        (l) => {
          if (!l.startsWith('{"url"')) return undefined
          return (JSON.parse(l) as { url: string }).url
        },
        30_000,
      )
      return new BareServer(child, url)
    } catch (err) {
      await child.stop(2_000)
      throw err
    }
  }

  async stop(): Promise<number> {
    const peak = this.rss.stop()
    await this.child.stop()
    return peak
  }
}

/** A read-only connection to a server's database, for cheap progress counts. */
export function openReadOnly(dbPath: string): Sqlite.Database {
  return new Sqlite(dbPath, { readonly: true, fileMustExist: true })
}

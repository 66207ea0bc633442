/**
 * How long after the first stop signal a repeat still counts as the same request. The same
 * signal often arrives twice within milliseconds: Ctrl-C reaches every process of the
 * terminal's foreground group, npm among them, and npm forwards it to the server it started
 * (`npm start`); systemd's default KillMode signals the whole group the same way.
 */
export const REPEAT_WINDOW_MS = 1000

export interface StopSignalOptions {
  /** Graceful stop: drains and closes everything. */
  stop: () => Promise<void>
  logger: Record<'info' | 'warn' | 'error', (fields: object, msg: string) => void>
  exit: (code: number) => void
  now?: () => number
}

/**
 * The handler for SIGTERM and SIGINT: the first one stops gracefully and exits 0 (1 if the
 * stop fails); a signal sent again later forces an immediate exit (130).
 */
export function createStopSignalHandler(o: StopSignalOptions): (signal: NodeJS.Signals) => void {
  const now = o.now ?? Date.now
  let firstAt: number | undefined
  return (signal) => {
    if (firstAt !== undefined) {
      if (now() - firstAt < REPEAT_WINDOW_MS) return
      o.logger.warn({ signal }, 'stop signal repeated, exiting without draining')
      o.exit(130)
      return
    }
    firstAt = now()
    o.logger.info({ signal }, 'shutting down')
    o.stop().then(
      () => o.exit(0),
      (err: unknown) => {
        o.logger.error({ err }, 'shutdown failed')
        o.exit(1)
      },
    )
  }
}

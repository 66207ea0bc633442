/**
 * Preloaded (`node --import`) into every process the benchmark starts, so that each one stops
 * by itself: when the benchmark process goes away (its IPC channel closes) or after
 * BENCH_CHILD_MAX_MS, it gets SIGTERM (a graceful stop) and, 5 s later, a hard exit.
 */
const maxMs = Number(process.env.BENCH_CHILD_MAX_MS ?? 15 * 60_000)

let stopping = false
function stop(reason) {
  if (stopping) return
  stopping = true
  process.stderr.write(`bench watchdog: ${reason}, stopping\n`)
  setTimeout(() => process.exit(1), 5_000).unref()
  process.kill(process.pid, 'SIGTERM')
}

setTimeout(() => stop(`running longer than ${maxMs} ms`), maxMs).unref()

if (process.connected) {
  process.on('disconnect', () => stop('the benchmark process is gone'))
  // The channel alone must not keep the process alive.
  process.channel?.unref()
}

/**
 * A write lock shared by the threads of one process (the HTTP thread and the background
 * thread each hold a connection to the same SQLite file). SQLite would serialise them too,
 * but its busy handler sleeps a millisecond or more per retry; waiting on this lock wakes the
 * moment the other thread commits. Other processes (the CLI) still meet SQLite's own lock.
 */
export class WriteLock {
  readonly #cell: Int32Array

  /** `buffer`: a SharedArrayBuffer of at least 4 bytes, the same one in every thread. */
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(4)) {
    this.#cell = new Int32Array(buffer, 0, 1)
  }

  /** Runs `fn` while holding the lock; blocks the calling thread until it is free. */
  hold<T>(fn: () => T): T {
    while (Atomics.compareExchange(this.#cell, 0, 0, 1) !== 0) {
      // Sleep until the holder releases it (the timeout only guards against a lost wake-up).
      Atomics.wait(this.#cell, 0, 1, 100)
    }
    try {
      return fn()
    } finally {
      Atomics.store(this.#cell, 0, 0)
      Atomics.notify(this.#cell, 0, 1)
    }
  }
}

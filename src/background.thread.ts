/**
 * The background thread of the embedded server (`start --role all`): it commits intake
 * forwarded by the HTTP thread and runs the workers (sending, delivery reports, outbound
 * webhooks) on its own database connection, so HTTP never waits behind dispatch work. Its
 * parts are composed by src/main.ts (`composeWorker`), like a worker process's.
 * Protocol: src/background.client.ts.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { FromThread, ThreadData, ToThread } from './background.client.js'
import { createLogger } from './logger.js'
import { composeWorker, handsetOf, openStore } from './main.js'
import { submissionSize, type Submission } from './store/rows.js'
import { WriteLock } from './store/write-lock.js'

const countMessages = (subs: readonly Submission[]) =>
  subs.reduce((n, sub) => n + submissionSize(sub), 0)

const port = parentPort
if (!port) throw new Error('background.thread runs as a worker thread')
const data = workerData as ThreadData
const post = (m: FromThread) => port.postMessage(m)

const logger = createLogger(data.config.logLevel).child({ thread: 'background' })
const store = await openStore(data.config, new WriteLock(data.lock))

try {
  const { background, reports, providers } = await composeWorker(data.config, store, {
    logger,
    now: Date.now,
  })

  // Event streams live on the HTTP thread: after each commit that raised events, one message
  // (several commits of a turn share it) tells it to read the log again.
  let eventsPosted = false
  store.onEventsCommitted(() => {
    if (eventsPosted) return
    eventsPosted = true
    setImmediate(() => {
      eventsPosted = false
      post({ t: 'events' })
    })
  })

  const answer = (id: number, work: Promise<unknown>) =>
    work.then(
      (value) => post({ t: 'done', id, value }),
      (err: unknown) => {
        logger.error({ err }, 'background thread request failed')
        post({ t: 'failed', id, message: err instanceof Error ? err.message : String(err) })
      },
    )

  let stopping: Promise<void> | undefined
  port.on('message', (m: ToThread) => {
    switch (m.t) {
      case 'submit':
        void answer(
          m.id,
          // Small batches that arrive together (the HTTP thread keeps several in flight) share
          // one transaction with whatever else this turn queued: one commit for all of them.
          // Large ones (the batch API) commit at once: merging those only adds memory.
          background.submit(m.subs, countMessages(m.subs) >= 256),
        )
        break
      case 'ingest':
        // Applied together (the ingestor batches their reports); if one group fails, every
        // webhook of the message is answered 5xx and its provider sends it again.
        void answer(m.id, Promise.all(m.groups.map((g) => reports.ingest(g.provider, g.events))))
        break
      case 'health':
        void answer(m.id, Promise.resolve(background.providerHealth()))
        break
      case 'handset':
        void answer(m.id, Promise.resolve([...handsetOf(providers)(m.ids)]))
        break
      case 'stop':
        stopping ??= (async () => {
          await background.stop()
          await store.close()
          post({ t: 'stopped' })
          port.close()
        })()
    }
  })
  post({ t: 'ready' })
} catch (err) {
  await store.close().catch(() => undefined)
  throw err
}

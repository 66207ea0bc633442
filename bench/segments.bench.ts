/**
 * Benchmark: `analyzeBody` against the reference calculator (`new SegmentedMessage(body)`) on the
 * generated segment corpus, with a check that both give identical results.
 *
 * Run directly: `npx tsx bench/segments.bench.ts [count]` prints one line of JSON.
 */
import { pathToFileURL } from 'node:url'

import smsSegments from 'sms-segments-calculator'

import { analyzeBody } from '../src/domain/messages/encoding.js'
import { generateSegmentCorpus } from '../test/support/segment-corpus.js'

const { SegmentedMessage } = smsSegments

const SEED = 0xbe_7c_4
const DEFAULT_COUNT = 10_000

export interface SegmentsBenchResult {
  /** Bodies in the corpus. */
  corpus: number
  /** Bodies analysed per second by `analyzeBody`. */
  oursPerSec: number
  /** Bodies analysed per second by the reference calculator. */
  oraclePerSec: number
  /** oursPerSec / oraclePerSec. */
  ratio: number
  /** Whether encoding, segments and characters agree for every body. */
  identical: boolean
  /** Bodies on which they do not agree. */
  mismatches: number
}

/** Result of one body as a comparable string: encoding, segments, characters. */
type Summary = string

interface Contender {
  /** Full result, for the identity check (warm-up pass). */
  summarize: (body: string) => Summary
  /** What is timed: the segment count. */
  segments: (body: string) => number
}

const OURS: Contender = {
  summarize: (body) => {
    const result = analyzeBody(body)
    return `${result.encoding}/${result.segments}/${result.characters}`
  },
  segments: (body) => analyzeBody(body).segments,
}

const ORACLE: Contender = {
  summarize: (body) => {
    const message = new SegmentedMessage(body)
    return `${message.encodingName}/${message.segmentsCount}/${message.numberOfCharacters}`
  },
  segments: (body) => new SegmentedMessage(body).segmentsCount,
}

/**
 * One warm-up pass over the corpus (its results are returned for the identity check), then timed
 * passes of `segments` until at least `minPasses` passes and `minMillis` ms. Returns bodies/s.
 */
function measure(
  corpus: readonly string[],
  contender: Contender,
  minPasses: number,
  minMillis: number,
): { perSec: number; results: Summary[] } {
  const results = corpus.map(contender.summarize)
  let sink = 0
  let passes = 0
  const start = process.hrtime.bigint()
  let elapsed = 0n
  while (passes < minPasses || elapsed < BigInt(minMillis) * 1_000_000n) {
    for (const body of corpus) sink += contender.segments(body)
    passes++
    elapsed = process.hrtime.bigint() - start
  }
  if (sink < 0) throw new Error('unreachable') // keeps the timed work observable
  return { perSec: (corpus.length * passes * 1e9) / Number(elapsed), results }
}

/**
 * Times `analyzeBody` and the reference calculator over the same deterministic corpus and checks
 * that their results are identical.
 */
export async function runSegmentsBench(opts?: { count?: number }): Promise<SegmentsBenchResult> {
  const corpus = generateSegmentCorpus(opts?.count ?? DEFAULT_COUNT, SEED)
  const theirs = measure(corpus, ORACLE, 2, 1_000)
  const mine = measure(corpus, OURS, 10, 1_000)
  let mismatches = 0
  mine.results.forEach((summary, index) => {
    if (summary !== theirs.results[index]) mismatches++
  })
  return {
    corpus: corpus.length,
    oursPerSec: Math.round(mine.perSec),
    oraclePerSec: Math.round(theirs.perSec),
    ratio: Math.round((mine.perSec / theirs.perSec) * 10) / 10,
    identical: mismatches === 0,
    mismatches,
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const count = process.argv[2] === undefined ? undefined : Number(process.argv[2])
  console.log(JSON.stringify(await runSegmentsBench({ count })))
}

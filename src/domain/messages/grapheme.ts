/**
 * Grapheme cluster boundaries, as the reference segment calculator computes them.
 *
 * The segment calculator never splits a grapheme across SMS segments, so segment counts depend on
 * where clusters end. The reference implementation (Twilio's calculator) uses the Unicode 10.0
 * extended grapheme cluster rules, including a few look-ahead quirks of its implementation;
 * `Intl.Segmenter` follows a newer Unicode version and disagrees on e.g. skin-tone modifiers after
 * non-emoji characters, so this module implements the Unicode 10.0 rules (and those quirks) itself.
 */
import { GRAPHEME_BREAK_RANGES } from './grapheme-data.js'

// Grapheme_Cluster_Break classes.
const OTHER = 0
const CR = 1
const LF = 2
const CONTROL = 3
const EXTEND = 4
const REGIONAL = 5
const PREPEND = 6
const SPACING_MARK = 7
const L = 8
const V = 9
const T = 10
const LV = 11
const LVT = 12
const E_BASE = 13
const E_MODIFIER = 14
const ZWJ = 15
const GLUE_AFTER_ZWJ = 16
const E_BASE_GAZ = 17
/** Marker for "no class" (the code point before the first one of a cluster). */
const NONE = -1

const CLASS_BY_NAME: Record<keyof typeof GRAPHEME_BREAK_RANGES, number> = {
  Control: CONTROL,
  Extend: EXTEND,
  Prepend: PREPEND,
  SpacingMark: SPACING_MARK,
  L,
  V,
  T,
  ZWJ,
  Regional_Indicator: REGIONAL,
  E_Base: E_BASE,
  E_Modifier: E_MODIFIER,
  Glue_After_Zwj: GLUE_AFTER_ZWJ,
  E_Base_GAZ: E_BASE_GAZ,
}

/**
 * Classes that can join a neighbouring code point into one cluster. A string without any of them
 * is one grapheme per code point (CR LF aside, which the calculator counts as two anyway).
 */
const JOINING = new Uint8Array(18)
for (const cls of [EXTEND, REGIONAL, PREPEND, SPACING_MARK, L, V, T, E_MODIFIER, ZWJ]) {
  JOINING[cls] = 1
}

// Two-stage lookup table: BLOCK_OF[cp >> 8] is the index of a 256-entry block in CLASSES.
const BLOCK_OF = new Uint16Array(0x1100)
const CLASSES = buildClassTable()

function buildClassTable(): Uint8Array {
  const blocks: Uint8Array[] = [new Uint8Array(256)] // block 0: all Other, shared
  const set = (cp: number, cls: number): void => {
    let block = BLOCK_OF[cp >> 8] ?? 0
    if (block === 0) {
      block = blocks.length
      blocks.push(new Uint8Array(256))
      BLOCK_OF[cp >> 8] = block
    }
    const target = blocks[block]
    if (target) target[cp & 0xff] = cls
  }
  for (const [name, ranges] of Object.entries(GRAPHEME_BREAK_RANGES)) {
    const cls = CLASS_BY_NAME[name as keyof typeof GRAPHEME_BREAK_RANGES]
    for (const token of ranges.split(/\s+/)) {
      if (token === '') continue
      const [from = '', to = from] = token.split('-')
      for (let cp = parseInt(from, 16), end = parseInt(to, 16); cp <= end; cp++) set(cp, cls)
    }
  }
  set(0x0d, CR)
  set(0x0a, LF)
  for (let cp = 0xac00; cp <= 0xd7a3; cp++) set(cp, (cp - 0xac00) % 28 === 0 ? LV : LVT)
  const table = new Uint8Array(blocks.length * 256)
  blocks.forEach((block, index) => table.set(block, index * 256))
  return table
}

/** Grapheme_Cluster_Break class of a code point (Unicode 10.0). */
function classOf(cp: number): number {
  return CLASSES[((BLOCK_OF[cp >> 8] ?? 0) << 8) | (cp & 0xff)] ?? OTHER
}

/**
 * Whether a code point can be part of a multi-code-point grapheme cluster (combining marks,
 * ZWJ, regional indicators, emoji modifiers, Hangul jamo, spacing marks, prepended marks).
 * Text without such code points has one grapheme per code point.
 */
export function mayJoin(cp: number): boolean {
  return JOINING[classOf(cp)] === 1
}

/** Code point at `index` (a surrogate pair is combined; a lone surrogate is its own code point). */
function codePointAt(text: string, index: number): number {
  const high = text.charCodeAt(index)
  if (high >= 0xd800 && high <= 0xdbff && index + 1 < text.length) {
    const low = text.charCodeAt(index + 1)
    if (low >= 0xdc00 && low <= 0xdfff) return (high - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000
  }
  return high
}

function isEmojiBase(cls: number): boolean {
  return cls === E_BASE || cls === E_BASE_GAZ
}

function isControl(cls: number): boolean {
  return cls === CONTROL || cls === CR || cls === LF
}

// State of the regional-indicator look-ahead over the code points after the first one.
const RI_EMPTY = 0 // nothing after the first code point yet
const RI_RUN = 1 // only regional indicators so far
const RI_AFTER_RUN = 2 // a run of regional indicators, then only non-indicators
const RI_NONE = 3 // anything else

/**
 * End index (exclusive) of the grapheme cluster starting at `start` (which must be < text.length).
 * CR LF is returned as one cluster; callers that follow the calculator count it as two characters.
 */
export function graphemeEnd(text: string, start: number): number {
  const length = text.length
  const firstCp = codePointAt(text, start)
  const first = classOf(firstCp)
  let i = start + (firstCp > 0xffff ? 2 : 1)
  let prev = first
  let beforePrev = NONE
  let count = 0 // code points after the first one
  let allExtend = true // ...which are all Extend
  let anyRegional = false // ...any of which is a regional indicator
  let anyExtend = first === EXTEND // Extend anywhere in the cluster
  let regional = RI_EMPTY

  while (i < length) {
    const cp = codePointAt(text, i)
    const next = classOf(cp)

    // Look-ahead quirk (GB10): E_Modifier after a run of Extend not started by an emoji base.
    if (next === E_MODIFIER && count > 0 && allExtend && first !== EXTEND && !isEmojiBase(first)) {
      return i
    }
    // Look-ahead quirk (GB12/13): regional indicator pairs are closed early.
    if (next === REGIONAL) {
      if (count === 0 && first !== PREPEND && first !== REGIONAL) return i
    } else if (regional === RI_AFTER_RUN && prev !== PREPEND) {
      return i
    }

    if (!(prev === CR && next === LF)) {
      // GB4, GB5: break around controls.
      if (isControl(prev) || isControl(next)) return i
      if (!joins(prev, beforePrev, next, anyExtend, anyRegional)) return i
    }

    beforePrev = prev
    prev = next
    count++
    if (next === EXTEND) anyExtend = true
    else allExtend = false
    if (next === REGIONAL) anyRegional = true
    if (regional === RI_EMPTY) regional = next === REGIONAL ? RI_RUN : RI_NONE
    else if (regional === RI_RUN) regional = next === REGIONAL ? RI_RUN : RI_AFTER_RUN
    else if (regional === RI_AFTER_RUN && next === REGIONAL) regional = RI_NONE
    i += cp > 0xffff ? 2 : 1
  }
  return length
}

/** Rules GB6 to GB999 (controls already handled): true when `next` continues the cluster. */
function joins(
  prev: number,
  beforePrev: number,
  next: number,
  anyExtend: boolean,
  anyRegional: boolean,
): boolean {
  // GB6-GB8: Hangul syllable sequences.
  if (prev === L && (next === L || next === V || next === LV || next === LVT)) return true
  if ((prev === LV || prev === V) && (next === V || next === T)) return true
  if ((prev === LVT || prev === T) && next === T) return true
  // GB9, GB9a, GB9b: extenders, spacing marks, prepended marks.
  if (isExtender(next) || prev === PREPEND) return true
  // GB10: emoji modifier after an emoji base. With Extend in the cluster, the reference
  // implementation only looks at the last one, which must directly follow the base.
  if (next === E_MODIFIER) {
    if (anyExtend ? prev === EXTEND && isEmojiBase(beforePrev) : isEmojiBase(prev)) return true
  }
  // GB11: ZWJ followed by glue or an emoji base.
  if (prev === ZWJ && (next === GLUE_AFTER_ZWJ || next === E_BASE_GAZ)) return true
  // GB12, GB13: regional indicator pairs.
  if (anyRegional) return false
  return prev === REGIONAL && next === REGIONAL
}

function isExtender(cls: number): boolean {
  return cls === EXTEND || cls === ZWJ || cls === SPACING_MARK
}

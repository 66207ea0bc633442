/**
 * SMS body encoding (GSM-7 or UCS-2) and segment counting.
 *
 * Agrees with Twilio's segment calculator (`sms-segments-calculator`), which
 * `test/segments-oracle.test.ts` checks on a generated corpus:
 * - GSM 03.38: basic table characters cost 1 septet, extension table characters
 *   (`\f ^ { } \ [ ~ ] | €`) cost 2 (escape + character). Anything else makes the body UCS-2,
 *   where every character costs its UTF-16 code units (extension characters cost 1 there).
 * - One segment holds 160 septets / 70 code units; a multipart segment holds 153 / 67, the rest
 *   being the concatenation header.
 * - An extension character and a grapheme cluster are never split: when one does not fit in the
 *   rest of a segment it moves whole to the next one. CR LF counts as two characters.
 */
import { graphemeEnd, mayJoin } from './grapheme.js'
import { smartEncode } from './smart-encoding.js'

export type Encoding = 'GSM-7' | 'UCS-2'

export interface BodyAnalysis {
  encoding: Encoding
  /** Number of SMS segments (1 for an empty body). */
  segments: number
  /** GSM-7: septets (extension characters count 2); UCS-2: UTF-16 code units. */
  units: number
  /** GSM-7: septets; UCS-2: grapheme clusters (CR and LF count one each). */
  characters: number
  /** The text to send: the body itself, or the body after smart encoding. */
  text: string
}

const GSM_SINGLE = 160
const GSM_MULTIPART = 153
const UCS2_SINGLE = 70
const UCS2_MULTIPART = 67

/** GSM 03.38 basic character set: printable ASCII part. */
const GSM_BASIC_ASCII =
  '\n\r !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz'
/** GSM 03.38 basic character set, the rest: £¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¡¤ÄÖÑÜ§¿äöñüà */
const GSM_BASIC_OTHER =
  '\u00a3\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\u00d8\u00f8\u00c5\u00e5\u0394\u03a6\u0393' +
  '\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9\u00a1\u00a4\u00c4\u00d6' +
  '\u00d1\u00dc\u00a7\u00bf\u00e4\u00f6\u00f1\u00fc\u00e0'
/** GSM 03.38 extension table (sent as ESC + character): form feed ^ { } \ [ ~ ] | € */
const GSM_EXTENSION = '\f^{}\\[~]|\u20ac'

/** Septets per UTF-16 code unit: 1 (basic table), 2 (extension table) or 0 (not GSM-7). */
const SEPTETS = new Uint8Array(0x10000)
for (const char of GSM_BASIC_ASCII + GSM_BASIC_OTHER) SEPTETS[char.charCodeAt(0)] = 1
for (const char of GSM_EXTENSION) SEPTETS[char.charCodeAt(0)] = 2

/**
 * Packs characters into segments like the reference calculator: the first segment holds
 * `single` units; on the first overflow it gets a header, keeping the longest prefix that fits
 * `multipart` units, and the remainder plus the overflowing character open segment two. From
 * then on each segment holds `multipart` units; a character that does not fit opens a new one.
 * (A character larger than a segment still goes whole into one, overfilling it.)
 */
class SegmentPacker {
  segments = 1
  private used = 0
  private firstSegmentKeeps = 0

  constructor(
    private readonly single: number,
    private readonly multipart: number,
  ) {}

  add(size: number): void {
    const used = this.used + size
    if (this.segments > 1) {
      if (used > this.multipart) {
        this.segments++
        this.used = size
      } else {
        this.used = used
      }
    } else if (used <= this.single) {
      this.used = used
      if (used <= this.multipart) this.firstSegmentKeeps = used
    } else {
      this.segments = 2
      this.used = used - this.firstSegmentKeeps
    }
  }
}

/**
 * Analyses an SMS body: encoding, number of segments, length in septets / code units and the
 * character count, as Twilio's segment calculator reports them.
 *
 * @param body message body as submitted
 * @param options.smartEncoding replace look-alike Unicode characters (curly quotes, dashes,
 *   special spaces...) with GSM-7 ones first; the result is returned as `text`
 */
export function analyzeBody(body: string, options?: { smartEncoding?: boolean }): BodyAnalysis {
  const text = options?.smartEncoding === true ? smartEncode(body) : body
  const length = text.length
  let septets = 0
  let i = 0
  for (; i < length; i++) {
    const cost = SEPTETS[text.charCodeAt(i)] ?? 0
    if (cost === 0) break
    septets += cost
  }
  if (i < length) return analyzeUcs2(text, i)

  let segments = 1
  if (septets > GSM_SINGLE) {
    if (septets === length) {
      // No extension character: every character is one septet.
      segments = Math.ceil(septets / GSM_MULTIPART)
    } else {
      const packer = new SegmentPacker(GSM_SINGLE, GSM_MULTIPART)
      for (let k = 0; k < length; k++) packer.add(SEPTETS[text.charCodeAt(k)] ?? 0)
      segments = packer.segments
    }
  }
  return { encoding: 'GSM-7', segments, units: septets, characters: septets, text }
}

/**
 * Whether `text` can be sent as GSM-7 as is: every character is in the GSM 03.38 basic or
 * extension table. The empty string is GSM-7.
 */
export function isGsm7(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (SEPTETS[text.charCodeAt(i)] === 0) return false
  }
  return true
}

/**
 * UCS-2 analysis. The `gsmPrefix` leading code units are GSM-7 characters, which only join a
 * cluster when a combining character follows (the scan sees that one). Fast path: when no code
 * point can join a cluster, each code point (a surrogate pair or a single code unit, lone
 * surrogates included) is one character; otherwise count grapheme clusters.
 */
function analyzeUcs2(text: string, gsmPrefix: number): BodyAnalysis {
  const length = text.length
  let pairs = 0
  for (let i = gsmPrefix; i < length; i++) {
    let cp = text.charCodeAt(i)
    // Nothing below U+0300 joins a neighbour (controls, Latin, symbols).
    if (cp < 0x300) continue
    if (isHighSurrogate(cp)) {
      const low = text.charCodeAt(i + 1) // NaN past the end
      if (isLowSurrogate(low)) {
        cp = (cp - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000
        pairs++
        i++
      }
    }
    if (mayJoin(cp)) return analyzeClusters(text)
  }

  let segments = 1
  if (length > UCS2_SINGLE) {
    if (pairs === 0) {
      // Every character is one code unit.
      segments = Math.ceil(length / UCS2_MULTIPART)
    } else {
      const packer = new SegmentPacker(UCS2_SINGLE, UCS2_MULTIPART)
      for (let i = 0; i < length; i++) {
        const isPair = isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1))
        packer.add(isPair ? 2 : 1)
        if (isPair) i++
      }
      segments = packer.segments
    }
  }
  return { encoding: 'UCS-2', segments, units: length, characters: length - pairs, text }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff
}

/** UCS-2 analysis by grapheme clusters (combining marks, ZWJ sequences, flags, modifiers...). */
function analyzeClusters(text: string): BodyAnalysis {
  const length = text.length
  const packer = length > UCS2_SINGLE ? new SegmentPacker(UCS2_SINGLE, UCS2_MULTIPART) : undefined
  let characters = 0
  for (let i = 0; i < length;) {
    const end = graphemeEnd(text, i)
    if (end - i === 2 && text.charCodeAt(i) === 0x0d && text.charCodeAt(i + 1) === 0x0a) {
      // The calculator splits CR LF back into two characters.
      characters += 2
      packer?.add(1)
      packer?.add(1)
    } else {
      characters++
      packer?.add(end - i)
    }
    i = end
  }
  return { encoding: 'UCS-2', segments: packer?.segments ?? 1, units: length, characters, text }
}

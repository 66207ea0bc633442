/**
 * Deterministic corpus of SMS bodies for checking segment counting against the reference
 * calculator, and for benchmarking. Concentrates on the hard cases: lengths around segment
 * boundaries, extension characters and multi-unit graphemes straddling them, emoji sequences,
 * combining marks, lone surrogates, line breaks and smart-encodable punctuation.
 */
import { mulberry32 } from './prng.js'

/** Seeded generator; seed 0 is mapped to a fixed non-zero seed, as before. */
const createRandom = (seed: number): (() => number) => mulberry32(seed >>> 0 || 0x9e3779b9)

const GSM_BASIC =
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,!?:;\'"()*+-/<=>#%&@$_' +
  '\u00a3\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\u00d8\u00f8\u00c5\u00e5\u0394\u03a6\u0393' +
  '\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9\u00a1\u00a4\u00c4\u00d6' +
  '\u00d1\u00dc\u00a7\u00bf\u00e4\u00f6\u00f1\u00fc\u00e0\n\r'
const GSM_EXTENSION = '\f^{}\\[~]|\u20ac'

/** Single non-GSM BMP characters: accents, Greek lower case, Cyrillic, CJK, symbols. */
// prettier-ignore
const UCS2_SINGLE = [
  '\u00e1', '\u00e7', '\u00ed', '\u00f3', '\u00fa', '\u00e2', '\u0151', '\u0142', '\u03b1',
  '\u03b2', '\u03c9', '\u0410', '\u0436', '\u4e2d', '\u6587', '\u65e5', '\u672c', '\uac00',
  '\ud55c', '\u0e01', '\u05d0', '\u0627', '\u2603', '\u2122', '`', '\u00a0', '\t', '\u2665',
]

/** Multi-code-unit graphemes and joining sequences. */
// prettier-ignore
const CLUSTERS = [
  '\u{1F600}', '\u{1F44D}', '\u{1F4A9}', '\u{1F680}', '\u{1F937}', '\u{1F9D1}', // emoji
  '\u{1F44D}\u{1F3FD}', '\u{1F469}\u{1F3FF}', '\u261D\u{1F3FB}', 'a\u{1F3FB}', '\u{1F3FB}', // skin tones
  '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}', '\u{1F469}\u200D\u{1F4BB}', // ZWJ
  '\u{1F3F3}\uFE0F\u200D\u{1F308}', '\u2764\uFE0F\u200D\u{1F525}', '\u{1F9D1}\u200D\u{1F91D}\u200D\u{1F9D1}',
  '\u{1F468}\u200D\u2764\uFE0F\u200D\u{1F468}', '\u{1F469}\u{1F3FD}\u200D\u{1F680}', 'a\u200D\u2640',
  '\u{1F1FA}\u{1F1F8}', '\u{1F1EB}\u{1F1F7}', '\u{1F1EF}', '\u{1F1EF}\u{1F1F5}\u{1F1E9}', // flags, RI
  '\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}', // tag sequence
  'e\u0301', 'a\u0301\u0302\u0303', 'n\u0303', 'o\u0308\u0304', '\u0301', 'A\u20DD', // combining
  '\u2764\uFE0F', '\u263A\uFE0E', '1\uFE0F\u20E3', '#\u20E3', '\u{1F1FA}\u{1F1F8}\u0301\u0301', // VS, keycaps
  '\u0915\u094D\u0937', '\u0928\u093F', '\u0e01\u0e33', '\u0600\u0661', // Indic, Thai, prepend
  '\u1100\u1161\u11A8', '\u1100\u1100\u1161', '\uAC00\u11A8', // Hangul jamo
  '\uD83D', '\uDE00', '\uDBFF', '\uD83D\uD83D', '\uDE00\uD83D', // lone surrogates
  '\r\n', '\r\n\u0301', '\u200D', '\u200B', '\uFEFF', '\u{20BB7}', '\u{1D11E}', // misc
]

/** Characters smart encoding replaces (curly quotes, dashes, spaces, full-width...). */
// prettier-ignore
const SMART = [
  '\u201c', '\u201d', '\u2018', '\u2019', '\u00ab', '\u00bb', '\u2013', '\u2014', '\u2026',
  '\u00a0', '\u2002', '\u2009', '\u202f', '\u3000', '\u200b', '\u200c', '\u2060', '\ufeff',
  '\t', '\uff21', '\uff41', '\uff10', '\uff01', '\u2022', '\u00bd', '\u203c', '\u0302', '\u0303',
  '\u0313', '\u00b4', '`', '\u2028', '\u0000', '\u0080', '\u02c6', '\uff5b', '\u2039', '\u3002',
]

const SEPTET_TARGETS = [160, 306, 459, 612]
const UNIT_TARGETS = [70, 134, 201, 268]

/**
 * Generates `count` SMS bodies from `seed` (same arguments, same corpus).
 */
export function generateSegmentCorpus(count: number, seed: number): string[] {
  const random = createRandom(seed)
  const int = (max: number): number => Math.floor(random() * max)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T
  const pickChar = (chars: string): string => chars.charAt(int(chars.length))
  const gsmText = (length: number): string => {
    let text = ''
    while (text.length < length) text += pickChar(GSM_BASIC)
    return text
  }
  /** Text of about `units` code units with a few random atoms from `pools` mixed in. */
  const mixed = (units: number, pools: ReadonlyArray<readonly string[]>, density: number) => {
    let text = ''
    while (text.length < units) {
      text += random() < density ? pick(pick(pools)) : pickChar(GSM_BASIC)
    }
    return text
  }

  const generators: Array<() => string> = [
    // Pure GSM-7 around 160 / 306 / 459 septets, optionally with extension characters.
    () => {
      const septets = pick(SEPTET_TARGETS) + int(9) - 4
      let text = gsmText(septets)
      if (random() < 0.5) {
        for (let n = int(4); n > 0; n--) {
          const at = int(text.length)
          text = text.slice(0, at) + pickChar(GSM_EXTENSION) + text.slice(at + 1)
        }
      }
      return text
    },
    // An extension character right at a segment boundary.
    () => {
      const before = pick([152, 153, 154, 159, 160, 305, 306, 307, 458, 459]) + int(3) - 1
      return gsmText(before) + pickChar(GSM_EXTENSION) + gsmText(int(12))
    },
    // UCS-2 (one non-GSM character somewhere) around 70 / 134 / 201 code units.
    () => {
      const units = pick(UNIT_TARGETS) + int(7) - 3
      const text = gsmText(units - 1)
      const at = int(text.length + 1)
      return text.slice(0, at) + pick(UCS2_SINGLE) + text.slice(at)
    },
    // A multi-unit grapheme straddling a UCS-2 boundary.
    () => {
      const before = pick([64, 65, 66, 67, 68, 69, 70, 131, 132, 133, 134, 198, 199, 200, 201])
      return pick(UCS2_SINGLE) + gsmText(before + int(3) - 2) + pick(CLUSTERS) + gsmText(int(8))
    },
    // Emoji / cluster heavy text.
    () => mixed(int(260) + 1, [CLUSTERS, UCS2_SINGLE], 0.4),
    // Repeated identical clusters (packing with fixed-size items).
    () => pick(CLUSTERS).repeat(int(80) + 1),
    // Non-Latin scripts: Greek (GSM capitals + lower case), Cyrillic, CJK.
    () => {
      const script = pick([
        '\u0394\u03a6\u0393\u039b\u03a9\u03b1\u03b2 ',
        '\u0410\u0436 ',
        '\u4e2d\u6587\u65e5',
      ])
      let text = ''
      for (let n = int(220) + 1; n > 0; n--) text += pickChar(script)
      return text
    },
    // Line breaks, tabs and special spaces.
    () => mixed(int(330) + 1, [['\r\n', '\r', '\n', '\t', '\u00a0', '\f']], 0.2),
    // Smart-encodable punctuation in otherwise GSM-7 text.
    () => mixed(pick(SEPTET_TARGETS) + int(21) - 10, [SMART], 0.08),
    // Smart-encodable punctuation together with non-GSM characters.
    () => mixed(int(300) + 1, [SMART, UCS2_SINGLE, CLUSTERS], 0.15),
    // Long combining sequences (graphemes larger than a segment).
    () => gsmText(int(70)) + 'a' + '\u0301'.repeat(int(90) + 1) + gsmText(int(70)),
    // Short bodies, including the empty one.
    () => mixed(int(12), [CLUSTERS, UCS2_SINGLE, SMART, GSM_EXTENSION.split('')], 0.5),
  ]

  const corpus: string[] = []
  for (let n = 0; n < count; n++) corpus.push(pick(generators)())
  return corpus
}

/**
 * Smart encoding: look-alike Unicode characters replaced by GSM-7 equivalents, so that a body
 * which only "looks" like GSM-7 text is not sent as (2x more expensive) UCS-2.
 *
 * The table mirrors Twilio's Smart Encoding as emulated by the reference segment calculator
 * (`new SegmentedMessage(body, 'auto', true)`), including its surprises: a tab becomes seven
 * spaces, NO-BREAK SPACE and most fixed-width spaces become two spaces, and some C0/C1 controls
 * are dropped or turned into spaces. `test/segments-oracle.test.ts` checks every BMP code point.
 *
 * Every source character is a BMP, non-surrogate code unit, so replacing code unit by code unit
 * is the same as replacing code point by code point.
 */

/** `[replacement, characters replaced by it]`, grouped by kind. */
const REPLACEMENTS: ReadonlyArray<readonly [string, string]> = [
  // Quotation marks, apostrophes and primes.
  ['"', '\u00ab\u00bb\u02ba\u02ee\u201c\u201d\u201e\u201f\u275d\u275e\u301d\u301e\uff02'],
  [
    "'",
    '\u0060\u00b4\u02b9\u02bb\u02bc\u02bd\u02c8\u02ca\u02cb\u0313\u0314\u2018\u2019\u201b\u275b' +
      '\u275c\ufe10\ufe11\uff07',
  ],
  [',', '\u0326\u201a\u3001\ufe50\ufe51\uff0c\uff64'],
  // Dashes, hyphens, bullets, underscores.
  ['-', '\u2010\u2013\u2014\u2015\u2022\u2043\u23bc\u23bd\ufe63\uff0d'],
  ['_', '\u0332\u2017\uff3f'],
  // Punctuation.
  ['...', '\u2026'],
  ['!', '\u01c3\ufe15\ufe57\uff01'],
  ['!!', '\u203c'],
  ['?', '\ufe16\ufe56\uff1f'],
  ['.', '\u3002\ufe52\uff0e\uff61'],
  [':', '\u02d0\u02f8\u2982\ua789\ufe13\uff1a'],
  [';', '\u204f\ufe14\ufe54\uff1b'],
  ['/', '\u00f7\u0337\u0338\u2044\u2215\u29f8\uff0f'],
  ['\\', '\u20e5\u29f5\u29f9\ufe68\uff3c'],
  ['|', '\u20d2\u20d3\u2223\u239c\u239f\u23b8\u23b9\u23d0\uff5c'],
  ['1/4', '\u00bc'],
  ['1/2', '\u00bd'],
  ['3/4', '\u00be'],
  // Brackets.
  ['(', '\u2768\u276a\u27ee\u2985\ufe59\uff08'],
  [')', '\u2769\u276b\u27ef\u2986\ufe5a\uff09'],
  ['{', '\u2774\ufe5b\uff5b'],
  ['}', '\u2775\ufe5c\uff5d'],
  ['[', '\uff3b'],
  [']', '\uff3d'],
  ['<', '\u2039\ufe64\uff1c'],
  ['>', '\u203a\ufe65\uff1e'],
  // Symbols and operators.
  [
    '*',
    '\u204e\u2217\u229b\u2722\u2723\u2724\u2725\u2731\u2732\u2733\u273a\u273b\u273c\u273d\u2743' +
      '\u2749\u274a\u274b\u29c6\ufe61\uff0a',
  ],
  ['+', '\u02d6\ufe62\uff0b'],
  ['=', '\u0347\ua78a\ufe66\uff1d'],
  ['^', '\u02c6\u0302\u1dcd\uff3e'],
  ['~', '\u02dc\u02f7\u0303\u0330\u0334\u223c\uff5e'],
  ['#', '\ufe5f\uff03'],
  ['$', '\ufe69\uff04'],
  ['%', '\ufe6a\uff05'],
  ['&', '\ufe60\uff06'],
  ['@', '\ufe6b\uff20'],
  // Full-width digits.
  ['0', '\uff10'],
  ['1', '\uff11'],
  ['2', '\uff12'],
  ['3', '\uff13'],
  ['4', '\uff14'],
  ['5', '\uff15'],
  ['6', '\uff16'],
  ['7', '\uff17'],
  ['8', '\uff18'],
  ['9', '\uff19'],
  // Full-width and small-capital Latin letters (upper case only).
  ['A', '\uff21\u1d00'],
  ['B', '\uff22\u0299'],
  ['C', '\uff23\u1d04'],
  ['D', '\uff24\u1d05'],
  ['E', '\uff25\u1d07'],
  ['F', '\uff26\ua730'],
  ['G', '\uff27\u0262'],
  ['H', '\uff28\u029c'],
  ['I', '\uff29\u026a'],
  ['J', '\uff2a\u1d0a'],
  ['K', '\uff2b\u1d0b'],
  ['L', '\uff2c\u029f'],
  ['M', '\uff2d\u1d0d'],
  ['N', '\uff2e\u0274'],
  ['O', '\uff2f\u1d0f'],
  ['P', '\uff30\u1d18'],
  ['Q', '\uff31'],
  ['R', '\uff32\u0280'],
  ['S', '\uff33\ua731'],
  ['T', '\uff34\u1d1b'],
  ['U', '\uff35\u1d1c'],
  ['V', '\uff36\u1d20'],
  ['W', '\uff37\u1d21'],
  ['X', '\uff38'],
  ['Y', '\uff39\u028f'],
  ['Z', '\uff3a\u1d22'],
  // Spaces and separators.
  [' ', '\u2001\u2028\u2029'],
  [
    '  ',
    '\u00a0\u2000\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000' +
      '\u0080\u008d\u0090\u009b\u009f',
  ],
  ['       ', '\t'],
  // Removed: zero-width characters, byte order mark and some C0 controls.
  ['', '\u200b\u200c\u2060\ufeff\u0000\u0003\u0004\u0010\u0011\u0012\u0013\u0014\u0017\u0019'],
]

const REPLACEMENT_BY_CODE = new Map<number, string>()
const HAS_REPLACEMENT = new Uint8Array(0x10000)
for (const [replacement, sources] of REPLACEMENTS) {
  for (let i = 0; i < sources.length; i++) {
    const code = sources.charCodeAt(i)
    if (REPLACEMENT_BY_CODE.has(code))
      throw new Error(`duplicate smart encoding for U+${code.toString(16)}`)
    REPLACEMENT_BY_CODE.set(code, replacement)
    HAS_REPLACEMENT[code] = 1
  }
}

/** Every replaced character and its replacement (for tests and documentation). */
export const SMART_ENCODING_TABLE: ReadonlyMap<string, string> = new Map(
  [...REPLACEMENT_BY_CODE].map(([code, replacement]) => [String.fromCharCode(code), replacement]),
)

/**
 * Applies smart encoding: replaces each look-alike character with its GSM-7 equivalent (and drops
 * zero-width characters). Returns `text` itself, without allocating, when nothing is replaced.
 */
export function smartEncode(text: string): string {
  const length = text.length
  let i = 0
  while (i < length && HAS_REPLACEMENT[text.charCodeAt(i)] !== 1) i++
  if (i === length) return text

  let result = ''
  let copiedUpTo = 0
  for (; i < length; i++) {
    const code = text.charCodeAt(i)
    if (HAS_REPLACEMENT[code] !== 1) continue
    result += text.slice(copiedUpTo, i) + (REPLACEMENT_BY_CODE.get(code) ?? '')
    copiedUpTo = i + 1
  }
  return result + text.slice(copiedUpTo)
}

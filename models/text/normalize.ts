/**
 * Character normalization applied before vocabulary lookup: full-width ASCII
 * variants (U+FF01–U+FF5E, common in Chinese text: 'Ａ', '１', '！') become
 * their half-width forms (U+0021–U+007E), and the ideographic space U+3000
 * becomes an ASCII space. Letters keep their case unless `lowercase` is set.
 * Pure; defined on one code point (a longer string is mapped code point by
 * code point, which gives the same result because every mapped character is
 * in the BMP).
 */

export interface NormalizeOptions {
  /** Map full-width ASCII U+FF01–U+FF5E to U+0021–U+007E. Default true. */
  fullWidth?: boolean;
  /** Map the ideographic space U+3000 to ' '. Default true. */
  ideographicSpace?: boolean;
  /** Lowercase ASCII letters A–Z (after full-width mapping). Default false. */
  lowercase?: boolean;
}

const FULL_WIDTH_FIRST = 0xff01;
const FULL_WIDTH_LAST = 0xff5e;
/** U+FF01 - U+0021: the distance between a full-width form and its ASCII form. */
const FULL_WIDTH_OFFSET = 0xfee0;
const IDEOGRAPHIC_SPACE = 0x3000;

function mapUnit(code: number, fullWidth: boolean, space: boolean, lower: boolean): number {
  let c = code;
  if (fullWidth && c >= FULL_WIDTH_FIRST && c <= FULL_WIDTH_LAST) c -= FULL_WIDTH_OFFSET;
  else if (space && c === IDEOGRAPHIC_SPACE) c = 0x20;
  if (lower && c >= 0x41 && c <= 0x5a) c += 0x20;
  return c;
}

/** Normalizes one character (code point); see the module comment for the mapping. */
export function normalizeChar(ch: string, options: NormalizeOptions = {}): string {
  const fullWidth = options.fullWidth ?? true;
  const space = options.ideographicSpace ?? true;
  const lower = options.lowercase ?? false;
  if (ch.length === 1) {
    const code = ch.charCodeAt(0);
    const mapped = mapUnit(code, fullWidth, space, lower);
    return mapped === code ? ch : String.fromCharCode(mapped);
  }
  // Surrogate code units are never mapped, so mapping per UTF-16 unit is safe.
  let out = '';
  for (let i = 0; i < ch.length; i++) {
    out += String.fromCharCode(mapUnit(ch.charCodeAt(i), fullWidth, space, lower));
  }
  return out;
}

/** Normalizes every element of a character array (returns a new array). */
export function normalizeChars(chars: readonly string[], options: NormalizeOptions = {}): string[] {
  return chars.map((c) => normalizeChar(c, options));
}

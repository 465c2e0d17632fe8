/**
 * Reader for character-per-line CoNLL NER files (WeiboNER). One token a line,
 * "<char><sep><label>", a blank line between sentences. Columns are split on
 * tabs when the line has one (so the character may be a space), otherwise on
 * runs of spaces; exactly two columns. Tags: O or PREFIX-LABEL with PREFIX one of
 * B, I (BIO) or also E, S (BIOES) and LABEL any label without whitespace
 * (WeiboNER's PER.NAM, GPE.NOM, ...; or PRODUCT, BRAND, ...; models/text/labels.ts).
 *
 * Two layouts, detected per file (detectConllVersion):
 *  - v1: the first column is exactly one code point.
 *  - v2 (He & Sun's revision): the first column is the character followed by
 *    its jieba word-position number ("科0", "技1", "a12"). The file is v2 iff
 *    every token line's first column has >= 2 code points and ends in an ASCII
 *    digit; a v1 file always has one-code-point first columns, including
 *    digit characters ("7"). In v2 the character is the first code point and
 *    the rest must be digits — except that a run of U+FFFD is one character:
 *    v2 stores each lost emoji surrogate half as "\uFFFD\uFFFD<digit>".
 *
 * Bytes are decoded with decodeCesu8, so v1's CESU-8 surrogate halves arrive
 * as lone surrogates; a high-half line directly followed by a low-half line
 * (same sentence) is rejoined into ONE character whose label is the first
 * line's. An unpaired half becomes U+FFFD. Both are counted in ConllStats,
 * never thrown. ConllStats.tokenLines counts lines BEFORE rejoining; this is
 * what the corpus MANIFEST calls "chars" (v1 train 73,780 lines = 73,774
 * characters after rejoining 6 pairs; v1 dev 14,509 = 14,501 + 8 pairs).
 */
import { readFile } from 'node:fs/promises';
import { CorpusFormatError } from '../../common/errors.js';
import { decodeCesu8 } from './cesu8.js';

/** A sentence of a CoNLL NER file: its characters and their tags. */
export interface NerSentence {
  /** One code point per element. */
  chars: string[];
  /** BIO or BIOES tags as in the file, same length as chars. */
  tags: string[];
}

export type ConllVersion = 1 | 2;

export interface ConllStats {
  version: ConllVersion;
  /** Non-blank lines (tokens before surrogate rejoining). */
  tokenLines: number;
  /** Characters returned (after rejoining). */
  chars: number;
  /** High-half + low-half line pairs rejoined into one character. */
  rejoinedPairs: number;
  /** Unpaired surrogate halves replaced by U+FFFD. */
  loneSurrogates: number;
  /** Tokens whose character was already U+FFFD in the file (e.g. v2's lost emoji halves). */
  replacementChars: number;
  /** Invalid byte sequences decoded as U+FFFD. */
  invalidSequences: number;
}

export interface ConllParseResult {
  sentences: NerSentence[];
  stats: ConllStats;
}

const LABEL = /^(O|[BIES]-\S+)$/;
const REPLACEMENT = '\uFFFD';

function splitColumns(line: string): string[] {
  if (line.includes('\t')) return line.replace(/[\t ]+$/, '').split(/\t+/);
  return line.replace(/^ +| +$/g, '').split(/ +/);
}

function isBlank(line: string): boolean {
  return /^[\s]*$/.test(line);
}

function lines(text: string): string[] {
  return text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

function isV2Column(first: string): boolean {
  return Array.from(first).length >= 2 && /[0-9]$/.test(first);
}

/** The layout of a decoded CoNLL file (see module comment); v1 when there are no token lines. */
export function detectConllVersion(text: string): ConllVersion {
  const firsts = lines(text).filter((l) => !isBlank(l)).map((l) => splitColumns(l)[0]);
  return firsts.length > 0 && firsts.every(isV2Column) ? 2 : 1;
}

/** The character of a first column, or null if the column is malformed for `version`. */
function charOf(first: string, version: ConllVersion): string | null {
  const cps = Array.from(first);
  if (version === 1) return cps.length === 1 ? cps[0] : null;
  let k = 1;
  if (cps[0] === REPLACEMENT) while (cps[k] === REPLACEMENT) k++;
  return /^[0-9]+$/.test(cps.slice(k).join('')) ? cps[0] : null;
}

const isHigh = (c: string): boolean => c.length === 1 && c >= '\uD800' && c <= '\uDBFF';
const isLow = (c: string): boolean => c.length === 1 && c >= '\uDC00' && c <= '\uDFFF';

/** Rejoins the surrogate-half tokens of one raw sentence into a new sentence; updates stats. */
function rejoin(raw: NerSentence, stats: ConllStats): NerSentence {
  const out: NerSentence = { chars: [], tags: [] };
  for (let i = 0; i < raw.chars.length; i++) {
    let ch = raw.chars[i];
    if (isHigh(ch) && i + 1 < raw.chars.length && isLow(raw.chars[i + 1])) {
      ch += raw.chars[i + 1];
      stats.rejoinedPairs++;
      out.chars.push(ch);
      out.tags.push(raw.tags[i]); // the label of the first (high-half) line
      i++;
      continue;
    }
    if (isHigh(ch) || isLow(ch)) {
      ch = REPLACEMENT;
      stats.loneSurrogates++;
    }
    out.chars.push(ch);
    out.tags.push(raw.tags[i]);
  }
  return out;
}

/** Parses a CoNLL NER file with statistics; throws CorpusFormatError(file, line, ...) on a malformed line. */
export function parseConllWithStats(bytes: Uint8Array, file: string): ConllParseResult {
  const { text, invalidSequences } = decodeCesu8(bytes);
  const version = detectConllVersion(text);
  const stats: ConllStats = {
    version, tokenLines: 0, chars: 0, rejoinedPairs: 0, loneSurrogates: 0, replacementChars: 0, invalidSequences,
  };
  const sentences: NerSentence[] = [];
  let current: NerSentence = { chars: [], tags: [] };
  const flush = (): void => {
    if (current.chars.length > 0) sentences.push(rejoin(current, stats));
    current = { chars: [], tags: [] };
  };
  lines(text).forEach((line, idx) => {
    if (isBlank(line)) return flush();
    const cols = splitColumns(line);
    const ch = cols.length === 2 && LABEL.test(cols[1]) ? charOf(cols[0], version) : null;
    if (ch === null) {
      throw new CorpusFormatError(
        file,
        idx + 1,
        `expected "<char> <tag>" with tag O or B-, I-, E-, S- and a label (e.g. B-PER.NAM, I-PRODUCT) ` +
          `(v${version} file${version === 2 ? ': char followed by its position digits' : ''}); got ${JSON.stringify(line)}`,
      );
    }
    stats.tokenLines++;
    if (ch === REPLACEMENT) stats.replacementChars++;
    current.chars.push(ch);
    current.tags.push(cols[1]);
  });
  flush();
  stats.chars = sentences.reduce((n, s) => n + s.chars.length, 0);
  return { sentences, stats };
}

/** Parses a CoNLL NER file (see parseConllWithStats). */
export function parseConll(bytes: Uint8Array, file: string): NerSentence[] {
  return parseConllWithStats(bytes, file).sentences;
}

/** Reads and parses a CoNLL NER file from disk. */
export async function readConll(path: string): Promise<NerSentence[]> {
  return parseConll(await readFile(path), path);
}

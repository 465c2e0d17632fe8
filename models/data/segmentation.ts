/**
 * Readers for word-segmented corpora and word lists.
 *
 * Segmented text (NLPCC 2016 Weibo, SIGHAN 2005): one sentence a line, words
 * separated by runs of whitespace. Whitespace is any JavaScript `\s`
 * character, so besides ' ' and '\t' also U+00A0 and U+3000: these never
 * belong to a word (with that rule the NLPCC counts match the corpus
 * manifest; splitting on ASCII space only would make lone U+00A0 "words").
 * CRLF and LF line ends, a UTF-8 BOM and blank lines are accepted. Word
 * lengths, chars and BIES tags count code points.
 *
 * Word lists (SIGHAN *_training_words.utf8): one word a line; the first
 * whitespace-separated field is taken, so jieba-style "word freq pos"
 * dictionaries work too.
 */
import { readFile } from 'node:fs/promises';
import { CorpusFormatError } from '../../common/errors.js';
import { lengthsToBies, type SegTag } from '../text/segTags.js';

/** One segmented sentence: its code points, their BIES tags, and its words. */
export interface SegSentence {
  /** One code point per element. */
  chars: string[];
  /** BIES tag of each char, same length as chars. */
  tags: SegTag[];
  /** The words of the line, in order; chars is their concatenation split into code points. */
  words: string[];
}

/** Whether `line` has a C0 control other than tab/VT/FF/CR, or DEL: a sign of a binary or UTF-16 file. */
function hasControl(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0b && c !== 0x0c && c !== 0x0d) || c === 0x7f) return true;
  }
  return false;
}

function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

/** Parses segmented text; throws CorpusFormatError(file, line, ...) on a line with control characters. */
export function parseSegmented(text: string, file: string): SegSentence[] {
  const sentences: SegSentence[] = [];
  splitLines(text).forEach((line, idx) => {
    const words = line.split(/\s+/).filter((w) => w.length > 0);
    if (words.length === 0) return;
    if (hasControl(line)) {
      throw new CorpusFormatError(file, idx + 1, `expected words separated by spaces; got a control character in ${JSON.stringify(line)}`);
    }
    const pieces = words.map((w) => Array.from(w));
    sentences.push({
      chars: pieces.flat(),
      tags: lengthsToBies(pieces.map((p) => p.length)),
      words,
    });
  });
  return sentences;
}

/** Reads a UTF-8 segmented file (see parseSegmented). */
export async function readSegmented(path: string): Promise<SegSentence[]> {
  return parseSegmented(await readFile(path, 'utf8'), path);
}

/** The words of a word-list text (first field of each non-blank line). */
export function parseWordList(text: string): Set<string> {
  const words = new Set<string>();
  for (const line of splitLines(text)) {
    const first = line.split(/\s+/).find((w) => w.length > 0);
    if (first !== undefined) words.add(first);
  }
  return words;
}

/** Reads a word list such as SIGHAN's pku_training_words.utf8 (CRLF or LF). */
export async function readWordList(path: string): Promise<Set<string>> {
  return parseWordList(await readFile(path, 'utf8'));
}

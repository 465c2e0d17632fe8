/**
 * textExamples: a raw text file (one post or sentence a line, e.g. the
 * NLPCC 2016 test input or a dump of post texts) as a stream of
 * TrainingExamples with chars only (no tags): unlabelled text for
 * pre-training embeddings. Whitespace is dropped, as pretrain/corpus.ts's
 * rawLines drops it; blank lines are skipped. A line with a control
 * character (a binary or UTF-16 file) is a CorpusFormatError at file:line;
 * with `onInvalid` that line is skipped.
 */
import { filter, map, type Observable } from 'rxjs';
import { CorpusFormatError } from '../../../common/errors.js';
import type { SourceOptions, TrainingExample } from './example.js';
import { baseName, fileLines, parseOrSkip, type FileLine } from './fileLines.js';

export interface TextExamplesOptions extends SourceOptions {
  /** `source` of every example; default the file's base name. */
  source?: string;
}

/** Whether `line` has a C0 control other than tab/LF/VT/FF/CR, or DEL: a sign of a binary or UTF-16 file. */
function hasControl(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c <= 0x08 || (c >= 0x0e && c <= 0x1f) || c === 0x7f) return true;
  }
  return false;
}

export function textExamples(path: string, options: TextExamplesOptions = {}): Observable<TrainingExample> {
  const source = options.source ?? baseName(path);
  const name = baseName(path);
  const parseLine = ({ bytes, number }: FileLine): TrainingExample | null => {
    const line = bytes.toString('utf8');
    if (hasControl(line)) throw new CorpusFormatError(path, number, 'control character in a text line (a binary or UTF-16 file?)');
    const chars = Array.from(line).filter((c) => !/^\s$/u.test(c));
    if (chars.length === 0) return null;
    return { id: `${name}:${number}`, chars, source, origin: `${path}:${number}` };
  };
  return fileLines(path).pipe(
    map((line) => parseOrSkip(options, () => parseLine(line))),
    filter((e): e is TrainingExample => e !== undefined && e !== null),
  );
}

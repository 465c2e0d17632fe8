/**
 * segmentedExamples: a word-segmented file (one sentence a line, words
 * separated by whitespace: NLPCC 2016 with one space, SIGHAN 2005 with two
 * spaces and CRLF) as a stream of TrainingExamples with segTags, the BIES
 * tags of the words, read line by line. Blank lines are skipped.
 *
 * Each line goes through models/data/segmentation.ts's parser, so words,
 * whitespace and code points are counted exactly as readSegmented counts
 * them. A line with a control character (a binary or UTF-16 file) is a
 * CorpusFormatError at file:line; with `onInvalid` that line is skipped.
 */
import { map, filter, type Observable } from 'rxjs';
import { CorpusFormatError } from '../../../common/errors.js';
import { parseSegmented } from '../../../models/data/segmentation.js';
import type { SourceOptions, TrainingExample } from './example.js';
import { baseName, detailOf, fileLines, parseOrSkip, type FileLine } from './fileLines.js';

export interface SegmentedExamplesOptions extends SourceOptions {
  /** `source` of every example; default the file's base name. */
  source?: string;
}

export function segmentedExamples(path: string, options: SegmentedExamplesOptions = {}): Observable<TrainingExample> {
  const source = options.source ?? baseName(path);
  const name = baseName(path);
  const parseLine = ({ bytes, number }: FileLine): TrainingExample | null => {
    let sentences;
    try {
      sentences = parseSegmented(bytes.toString('utf8'), path);
    } catch (err) {
      if (!(err instanceof CorpusFormatError)) throw err;
      throw new CorpusFormatError(path, number, detailOf(err));
    }
    if (sentences.length === 0) return null;
    const { chars, tags } = sentences[0];
    return { id: `${name}:${number}`, chars, segTags: tags, source, origin: `${path}:${number}` };
  };
  return fileLines(path).pipe(
    map((line) => parseOrSkip(options, () => parseLine(line))),
    filter((e): e is TrainingExample => e !== undefined && e !== null),
  );
}

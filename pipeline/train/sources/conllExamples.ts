/**
 * conllExamples: a CoNLL NER file (one "<char> <label>" a line, a blank line
 * between sentences; the WeiboNER layouts of models/data/conll.ts) as a
 * stream of TrainingExamples with nerTags, read line by line.
 *
 * Each sentence is parsed by models/data/conll.ts's parser, so CESU-8
 * surrogate halves are rejoined and v1/v2 (char + position digits) layouts
 * are read exactly as readConll reads them. The layout is fixed by the first
 * sentence; a later sentence in the other layout is a CorpusFormatError, as
 * is a malformed line (file:line of that line). With `onInvalid`, the
 * sentence holding a malformed line is skipped.
 */
import { Observable } from 'rxjs';
import { CorpusFormatError } from '../../../common/errors.js';
import { parseConllWithStats, type ConllVersion } from '../../../models/data/conll.js';
import type { SourceOptions, TrainingExample } from './example.js';
import { baseName, detailOf, fileLines, parseOrSkip } from './fileLines.js';

export interface ConllExamplesOptions extends SourceOptions {
  /** `source` of every example; default the file's base name. */
  source?: string;
}

const NEWLINE = Buffer.from('\n');

function isBlank(bytes: Buffer): boolean {
  return /^\s*$/.test(bytes.toString('utf8'));
}

export function conllExamples(path: string, options: ConllExamplesOptions = {}): Observable<TrainingExample> {
  const source = options.source ?? baseName(path);
  const name = baseName(path);
  return new Observable<TrainingExample>((subscriber) => {
    let lines: Buffer[] = [];
    let firstLine = 0;
    let layout: { version: ConllVersion; line: number } | undefined;

    const parseSentence = (): TrainingExample => {
      const bytes = Buffer.concat(lines.flatMap((l, i) => (i === 0 ? [l] : [NEWLINE, l])));
      let parsed;
      try {
        parsed = parseConllWithStats(bytes, path);
      } catch (err) {
        if (!(err instanceof CorpusFormatError)) throw err;
        throw new CorpusFormatError(path, firstLine + err.line - 1, detailOf(err));
      }
      const { version } = parsed.stats;
      if (layout === undefined) layout = { version, line: firstLine };
      else if (version !== layout.version) {
        throw new CorpusFormatError(
          path,
          firstLine,
          `sentence in the v${version} layout${version === 2 ? ' (char followed by position digits)' : ''}, ` +
            `but the file is v${layout.version} (from its first sentence at line ${layout.line})`,
        );
      }
      const sentence = parsed.sentences[0];
      return { id: `${name}:${firstLine}`, chars: sentence.chars, nerTags: sentence.tags, source, origin: `${path}:${firstLine}` };
    };

    const flush = (): void => {
      if (lines.length === 0) return;
      const example = parseOrSkip(options, parseSentence);
      lines = [];
      if (example !== undefined) subscriber.next(example);
    };

    return fileLines(path).subscribe({
      next: ({ bytes, number }) => {
        try {
          if (isBlank(bytes)) return flush();
          if (lines.length === 0) firstLine = number;
          lines.push(bytes);
        } catch (err) {
          subscriber.error(err);
        }
      },
      error: (err: unknown) => subscriber.error(err),
      complete: () => {
        try {
          flush();
          subscriber.complete();
        } catch (err) {
          subscriber.error(err);
        }
      },
    });
  });
}

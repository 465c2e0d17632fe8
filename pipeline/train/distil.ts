/**
 * Sequence-level knowledge distillation (Kim & Rush 2016), step 1: a teacher
 * (any model artifact; an ensemble of seeds, `mentionflow ensemble`, is the
 * point) labels unlabelled text with its Viterbi tags, the sequence it would
 * serve, written once as a char-per-line CoNLL file in the teacher's scheme
 * (`<char>\t<tag>`, a blank line between sentences), which every NER data
 * option reads (`train-joint --silver`, `eval --data`). Step 2 is ordinary
 * training with those silver sentences mixed into the gold ones
 * (trainTagger's `silver`, option `silverRatio`).
 *
 * With a second teacher for nominal mentions (`nominalTeacher`), the silver
 * holds the first teacher's named spans and the second one's nominal spans:
 * for two annotation standards of one label set that differ mostly in their
 * nominal mentions (WeiboNER v1 and its revision v2, whose train split has
 * 766 PER.NOM mentions where v1 has 416, and about as many named ones).
 *
 * Texts longer than the teacher's maxLength are labelled, and written, in
 * pieces of that length (as the taggers cut them). The file appears whole or
 * not at all (written to FILE.tmp, then renamed).
 */
import { rename, rm, writeFile, appendFile } from 'node:fs/promises';
import { ConfigError } from '../../common/errors.js';
import type { TaggerModel } from '../../models/taggerModel.js';
import { labelParts, spansToTags, withNominals, type Span } from '../../models/text/tagScheme.js';

export interface SilverOptions {
  /** Sentences of unlabelled text, one code point an element. */
  texts: readonly (readonly string[])[];
  /** The CoNLL file to write. */
  out: string;
  /** Sentences per forward pass (default 64). */
  batchSize?: number;
  /** Called after each chunk of texts: texts labelled so far, of how many, characters so far. */
  onProgress?: (done: number, total: number, chars: number) => void;
  /**
   * A second teacher for the nominal mentions (labels TYPE.NOM): the silver
   * then holds the teacher's other spans and this one's nominal spans, in the
   * teacher's scheme; a nominal span overlapping one of the teacher's is left
   * out. Both must tag NAM/NOM labels.
   */
  nominalTeacher?: TaggerModel;
}

/** What was written: texts read, sentences (pieces) written, characters, mentions per label, seconds taken. */
export interface SilverStats {
  texts: number;
  sentences: number;
  chars: number;
  mentions: Record<string, number>;
  seconds: number;
  /** With a nominal teacher: its nominal spans left out for overlapping one of the teacher's spans. */
  nominalOverlaps?: number;
}

/** Texts handed to the teacher at once (a progress report and a file append after each). */
const CHUNK = 1024;

/** `chars` cut into pieces of at most `max` code points. */
export function pieces(chars: readonly string[], max: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < chars.length; i += max) out.push(chars.slice(i, i + max));
  return out;
}

/** Labels `texts` with `teacher` and writes the silver CoNLL file; ConfigError on empty input or a bad batch size. */
export async function writeSilver(teacher: TaggerModel, options: SilverOptions): Promise<SilverStats> {
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`batchSize must be an integer >= 1, got ${batchSize}`);
  const nominal = options.nominalTeacher;
  if (nominal !== undefined) {
    if (!tagsKind(teacher, 'NAM')) throw new ConfigError('the teacher tags no named (TYPE.NAM) label, so a nominal teacher has nothing to complete');
    if (!tagsKind(nominal, 'NOM')) throw new ConfigError('the nominal teacher tags no nominal (TYPE.NOM) label');
  }
  const texts = options.texts.filter((t) => t.length > 0);
  if (texts.length === 0) throw new ConfigError('no text to label: the sources hold no non-empty sentence');
  for (const t of texts) {
    const bad = t.find((c) => /^\s$/u.test(c));
    if (bad !== undefined) throw new ConfigError(`text to label has a whitespace character (U+${bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}), which a CoNLL line cannot hold; read it through a text source (whitespace dropped)`);
  }
  const started = Date.now();
  const tmp = `${options.out}.tmp`;
  const stats: SilverStats = { texts: texts.length, sentences: 0, chars: 0, mentions: {}, seconds: 0, ...(nominal ? { nominalOverlaps: 0 } : {}) };
  const maxLength = Math.min(teacher.meta.maxLength, nominal?.meta.maxLength ?? Infinity);
  await writeFile(tmp, '');
  try {
    for (let i = 0; i < texts.length; i += CHUNK) {
      const chunk = texts.slice(i, i + CHUNK).flatMap((t) => pieces(t, maxLength));
      const predictions = await teacher.predict(chunk, batchSize);
      const nominals = nominal === undefined ? undefined : await nominal.predict(chunk, batchSize);
      const lines: string[] = [];
      predictions.forEach((p, k) => {
        let { tags, spans }: { tags: readonly string[]; spans: readonly Span[] } = p;
        if (nominals !== undefined) {
          const merged = withNominals(p.spans, nominals[k].spans);
          stats.nominalOverlaps! += merged.overlaps;
          spans = merged.spans;
          tags = spansToTags(spans, chunk[k].length, teacher.meta.scheme);
        }
        lines.push(chunk[k].map((c, j) => `${c}\t${tags[j]}`).join('\n'), '');
        for (const s of spans) stats.mentions[s.label] = (stats.mentions[s.label] ?? 0) + 1;
        stats.chars += chunk[k].length;
      });
      stats.sentences += chunk.length;
      await appendFile(tmp, lines.join('\n') + '\n');
      options.onProgress?.(Math.min(i + CHUNK, texts.length), texts.length, stats.chars);
    }
    await rename(tmp, options.out);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  stats.seconds = (Date.now() - started) / 1000;
  return stats;
}

/** Whether `model`'s NER tags hold a label of `kind` (TYPE.NAM or TYPE.NOM). */
function tagsKind(model: TaggerModel, kind: 'NAM' | 'NOM'): boolean {
  return model.nerTags.labels.some((l) => labelParts(l).kind === kind);
}

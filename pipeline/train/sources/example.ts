/**
 * The one shape every archived-corpus source emits (TrainingExample), the
 * options they share, and the conversions between a TrainingExample and the
 * LabeledExample Avro record (schemas/example/v1.avsc):
 *
 *   LabeledExample.spans [start, end) label  <->  BIO tags   (models/text/spans)
 *   LabeledExample.segmentation (word ends)  <->  BIES tags  (models/text/segTags)
 *
 * Both directions check their input and throw a MentionflowError saying what
 * is wrong; each source wraps it with its position (file:line, file#record,
 * topic[partition]@offset).
 */
import { MentionflowError, type CorpusFormatError, type DecodeError } from '../../../common/errors.js';
import { tagsToSpans } from '../../../models/text/labels.js';
import { spansToBio } from '../../../models/text/spans.js';
import { biesToWordSpans, lengthsToBies, type SegTag } from '../../../models/text/segTags.js';
import type { LabeledExample } from '../../../schemas/types.generated.js';

export type { SegTag } from '../../../models/text/segTags.js';

/** One training sentence, whatever archive it came from. */
export interface TrainingExample {
  /** Stable id: the record's `id` for archived examples, "<file name>:<first line>" for text corpora. */
  id: string;
  /** The text, one Unicode code point per element. */
  chars: string[];
  /** Entity tags, BIO or BIOES, any labels ("O", "B-PER.NAM", "I-PRODUCT", "S-BRAND"), one per char; absent when the example is not annotated for NER. */
  nerTags?: string[];
  /** BIES word-segmentation tags, one per char; absent when the example is not segmented. */
  segTags?: SegTag[];
  /** Corpus or platform name ("weibo"); for text files the file's base name unless the caller names it. */
  source: string;
  /** Epoch milliseconds (UTC) of an archived example's `created_at`; absent for text corpora. */
  createdAt?: number;
  /** Where the example was read: "file:line", "file#record" (1-based) or "topic[partition]@offset". */
  origin: string;
}

/** The error a source reports for one malformed input item. */
export type InvalidInputError = CorpusFormatError | DecodeError;

/** Options every source takes. */
export interface SourceOptions {
  /**
   * Called with the error of each malformed item (a line, sentence or
   * record), which is then skipped. Without it the stream errors with that
   * error at the first malformed item. A throw from the callback errors the
   * stream. Damage that makes the rest of the input unreadable (a corrupt
   * container block, a broker failure) always errors the stream.
   */
  onInvalid?: (error: InvalidInputError) => void;
}

/** Whether `s` is exactly one Unicode code point. */
function isCodePoint(s: string): boolean {
  const cp = s.codePointAt(0);
  return cp !== undefined && s.length === (cp > 0xffff ? 2 : 1);
}

/** BIES tags of word ends (exclusive, strictly increasing, last = length); throws on a bad list. */
function endsToBies(ends: readonly number[], length: number): SegTag[] {
  const lengths: number[] = [];
  let last = 0;
  for (const end of ends) {
    if (!Number.isInteger(end) || end <= last || end > length) {
      throw new MentionflowError(
        `segmentation [${ends.join(', ')}] is not strictly increasing word ends in (0, ${length}] (bad end ${end})`,
      );
    }
    lengths.push(end - last);
    last = end;
  }
  if (last !== length) {
    throw new MentionflowError(`segmentation [${ends.join(', ')}] ends at ${last}, not at the text length ${length}`);
  }
  return lengthsToBies(lengths);
}

export interface FromLabeledOptions {
  /** Whether the spans are a gold NER annotation (set nerTags); when false, spans are ignored. */
  ner: boolean;
  origin: string;
}

/**
 * The TrainingExample of a LabeledExample record: chars = the text's code
 * points, nerTags = BIO tags of the spans (when `ner`), segTags = BIES tags of
 * the segmentation (when not null). Throws MentionflowError when a span is
 * empty, out of range or overlaps another, or the segmentation is not a
 * strictly increasing list of word ends finishing at the text length.
 */
export function fromLabeledExample(record: LabeledExample, options: FromLabeledOptions): TrainingExample {
  const chars = Array.from(record.text);
  const example: TrainingExample = { id: record.id, chars, source: record.source, createdAt: record.created_at, origin: options.origin };
  if (options.ner) example.nerTags = spansToBio(record.spans, chars.length);
  if (record.segmentation !== null && record.segmentation !== undefined) {
    example.segTags = endsToBies(record.segmentation, chars.length);
  }
  return example;
}

export interface ToLabeledOptions {
  /** created_at of the record: epoch ms (when the text was published, else annotated). */
  createdAt: number;
  /** Overrides the example's `source`. */
  source?: string;
  /** Overrides the example's `id`. */
  id?: string;
}

/**
 * The LabeledExample record of a TrainingExample: text = chars joined, spans
 * from the tags (BIO with conlleval chunking, so invalid BIO such as "O I-X"
 * is read as a chunk starting at the I; BIOES when a tag has an E- or S-
 * prefix), segmentation = word ends of the BIES
 * tags (null when there are none). Throws MentionflowError when a char is not
 * one code point or a tag list has the wrong length. An example without
 * nerTags gets `spans: []`; mark such archives as not NER-annotated (see
 * writeExampleContainer's `ner`), or readers take the empty spans as gold.
 */
export function toLabeledExample(example: TrainingExample, options: ToLabeledOptions): LabeledExample {
  const { chars, nerTags, segTags } = example;
  const bad = chars.findIndex((c) => !isCodePoint(c));
  if (bad >= 0) throw new MentionflowError(`char ${bad} (${JSON.stringify(chars[bad])}) is not exactly one code point`);
  for (const [name, tags] of [['nerTags', nerTags], ['segTags', segTags]] as const) {
    if (tags !== undefined && tags.length !== chars.length) {
      throw new MentionflowError(`${name} has ${tags.length} tags for ${chars.length} chars`);
    }
  }
  return {
    id: options.id ?? example.id,
    text: chars.join(''),
    spans: nerTags === undefined ? [] : tagsToSpans(nerTags),
    segmentation: segTags === undefined ? null : biesToWordSpans(segTags).map((w) => w.end),
    source: options.source ?? example.source,
    created_at: options.createdAt,
  };
}

/**
 * kafkaExamples: the LabeledExample records of a topic between two offsets
 * or timestamps per partition (a bounded replay, pipeline/kafka/replay.ts,
 * whose module comment gives the exact bound semantics: from inclusive, to
 * exclusive) as a stream of TrainingExamples; completes when every partition
 * reached its end bound.
 *
 * A record that is not a well-formed LabeledExample (bad Avro, a tombstone,
 * bad spans or segmentation) is a RecordDecodeError naming
 * topic[partition]@offset; without onInvalid it ends the stream.
 * `origin` of an example is "topic[partition]@offset".
 *
 * With `records: 'post'` the records are Post records (a posts topic) and
 * each becomes an example with chars only (its text): unlabelled text for
 * pre-training.
 */
import { filter, map, type Observable } from 'rxjs';
import { DecodeError } from '../../../common/errors.js';
import { replayTopic, type ReplayOptions, type ReplayRecord } from '../../kafka/replay.js';
import { decodeStrict, loadSchema, type WireFormat } from '../../../schemas/registry.js';
import type { LabeledExample, Post } from '../../../schemas/types.generated.js';
import { fromLabeledExample, type SourceOptions, type TrainingExample } from './example.js';
import { parseOrSkip } from './fileLines.js';

/** A Kafka record that is not a usable LabeledExample. */
export class RecordDecodeError extends DecodeError {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: string,
    detail: string,
    options: { cause?: unknown } = {},
  ) {
    super(`${topic}[${partition}]@${offset}: ${detail}`, options);
  }
}

export interface KafkaExamplesOptions extends ReplayOptions, SourceOptions {
  /** Framing of the record values: 'raw' Avro (default), 'confluent' (0x00 + schema id + Avro) or 'auto'. */
  wireFormat?: WireFormat;
  /** Whether spans are a gold NER annotation (nerTags set); default true. */
  ner?: boolean;
  /** What the records are: 'example' (LabeledExample, default) or 'post' (Post; examples with chars only). */
  records?: 'example' | 'post';
}

/**
 * The LabeledExample of a replayed record: the value decoded with
 * decodeStrict and its spans and segmentation checked. Throws
 * RecordDecodeError naming the record.
 */
export function decodeLabeledRecord(record: ReplayRecord, wireFormat: WireFormat = 'raw'): LabeledExample {
  const fail = (detail: string, cause?: unknown): never => {
    throw new RecordDecodeError(record.topic, record.partition, record.offset, detail, { cause });
  };
  if (record.value === null) return fail('null value (a tombstone), not a LabeledExample');
  let example: LabeledExample;
  try {
    example = decodeStrict<LabeledExample>(loadSchema('example'), record.value, { wireFormat });
  } catch (err) {
    return fail((err as Error).message, err);
  }
  try {
    fromLabeledExample(example, { ner: true, origin: '' });
  } catch (err) {
    return fail(`LabeledExample ${JSON.stringify(example.id)}: ${(err as Error).message}`, err);
  }
  return example;
}

export function kafkaExamples(options: KafkaExamplesOptions): Observable<TrainingExample> {
  const { wireFormat = 'raw', ner = true, records = 'example' } = options;
  const toExample = (record: ReplayRecord): TrainingExample => {
    if (records === 'post') {
      const origin = `${record.topic}[${record.partition}]@${record.offset}`;
      if (record.value === null) throw new RecordDecodeError(record.topic, record.partition, record.offset, 'null value (a tombstone), not a Post');
      let post: Post;
      try {
        post = decodeStrict<Post>(loadSchema('post'), record.value, { wireFormat });
      } catch (err) {
        throw new RecordDecodeError(record.topic, record.partition, record.offset, (err as Error).message, { cause: err });
      }
      return { id: post.id, chars: Array.from(post.text), source: post.source, createdAt: post.created_at, origin };
    }
    const example = decodeLabeledRecord(record, wireFormat);
    return fromLabeledExample(example, { ner, origin: `${record.topic}[${record.partition}]@${record.offset}` });
  };
  return replayTopic(options).pipe(
    map((record) => parseOrSkip(options, () => toExample(record))),
    filter((e): e is TrainingExample => e !== undefined),
  );
}

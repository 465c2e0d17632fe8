/**
 * Archived corpora as streams: every source emits TrainingExamples.
 *
 *   conllExamples(path)      CoNLL NER file (WeiboNER layouts)        -> nerTags
 *   segmentedExamples(path)  one sentence a line, words by spaces     -> segTags (BIES)
 *   avroExamples(path)       Avro container of LabeledExample records -> nerTags / segTags
 *   textExamples(path)       raw text, one sentence or post a line    -> chars only
 *   avroExamples(path)       ... or of Post records (archived posts)  -> chars only
 *   kafkaExamples(options)   LabeledExample records of a topic range  -> nerTags / segTags
 *                            (records: 'post': Post records           -> chars only)
 *
 * and the one source syntax of every training command (sourceSpec.ts:
 * "[FORMAT:]PATH[?from=&to=]" or "kafka:TOPIC[?from=&to=]") with its readers
 * (openSource.ts: openSource, readNerSource, readSegSource, readTextSource),
 * plus writeExampleContainer (the archive writer) and seeded shuffling and
 * subsampling (sampling.ts).
 */
export * from './example.js';
export { conllExamples, type ConllExamplesOptions } from './conllExamples.js';
export { segmentedExamples, type SegmentedExamplesOptions } from './segmentedExamples.js';
export { avroExamples, NER_METADATA_KEY, type AvroExamplesOptions } from './avroExamples.js';
export { kafkaExamples, decodeLabeledRecord, RecordDecodeError, type KafkaExamplesOptions } from './kafkaExamples.js';
export { writeExampleContainer, type ContainerWriteOptions, type ContainerWriteResult } from './containerWriter.js';
export { shuffleBySeed, shuffledBySeed, subsample, subsampleBySeed } from './sampling.js';
export { textExamples, type TextExamplesOptions } from './textExamples.js';
export { parseSourceSpec, SOURCE_SYNTAX_HELP, SOURCE_FORMATS, type SourceSpec, type SourceFormat, type TopicBound, type HourKey } from './sourceSpec.js';
export { openSource, sourceFiles, checkSource, readNerSource, readSegSource, readTextSource, type SourceKafkaOptions, type SourceRole, type OpenSourceOptions, type SourceData, type SourceFile, type ReadSourceOptions } from './openSource.js';

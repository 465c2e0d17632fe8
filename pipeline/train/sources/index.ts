/**
 * Archived corpora as streams: every source emits TrainingExamples.
 *
 *   conllExamples(path)      CoNLL NER file (WeiboNER layouts)        -> nerTags
 *   segmentedExamples(path)  one sentence a line, words by spaces     -> segTags (BIES)
 *   avroExamples(path)       Avro container of LabeledExample records -> nerTags / segTags
 *   kafkaExamples(options)   LabeledExample records of a topic range  -> nerTags / segTags
 *
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

/**
 * mentionflow's public API: everything importable from `"mentionflow"`.
 * Whatever this module does not export is internal and may change in any
 * release.
 *
 * Tag texts in two lines:
 *
 * ```ts
 * import { loadTagger } from 'mentionflow';
 * const tagger = await loadTagger();
 * console.log(await tagger.tag(['我在北京见到了张三']));
 * ```
 *
 * The parts, from small to large:
 * - **Tagging**: {@link loadTagger}, the {@link Tagger} interface and its
 *   implementations ({@link NeuralTagger} on the calling thread,
 *   {@link ThreadTagger} in worker threads), {@link useBackend},
 *   {@link useInferencePrecision} (float32, bfloat16 or int8 products); word
 *   segmentation with {@link NeuralTagger.segment} ({@link Word}).
 * - **Operators** (RxJS, one stage each, in pipeline order):
 *   {@link decodePosts}, {@link batchItems} / {@link batchAdaptive},
 *   {@link tagBatch}, {@link toMentions}, {@link encodeOutputs}; plus
 *   {@link postItems}, which turns plain post objects into their items.
 * - **The pipeline**: {@link mentionStream} between a {@link RecordSource}
 *   and an {@link OutputSink}: {@link postSource} and {@link callbackSink}
 *   in-process, {@link FileSource} / {@link FileSink} for files,
 *   {@link openKafkaEdges} for Kafka; {@link startWorker} runs the whole
 *   `mentionflow run` worker from a {@link WorkerConfig} ({@link workerConfig}
 *   builds and checks one).
 * - **Training**: {@link trainNer}, {@link resolveTrainOptions},
 *   {@link readConll}, {@link evaluateNer}, {@link TaggerModel}; for
 *   segmentation {@link readSegmented}, {@link readWordList},
 *   {@link evaluateSegmentation}, {@link scoreSegmentation}.
 * - **Records and errors**: the Avro record types ({@link Post},
 *   {@link PostMentions}, {@link DeadLetter}), {@link loadSchema}, and the
 *   error hierarchy under {@link MentionflowError}.
 *
 * @packageDocumentation
 */

// Tagging
export { defaultModelDir, loadTagger } from './api/loadTagger.js';
export type { LoadTaggerOptions } from './api/loadTagger.js';
export { NeuralTagger, DEFAULT_SLICE_CHARS } from './models/tagger.js';
export type { EntityType, Mention, MentionKind, NeuralTaggerOptions, Tagger, Word } from './models/tagger.js';
export { ThreadTagger } from './models/threadTagger.js';
export type { ThreadTaggerOptions } from './models/threadTagger.js';
export { BACKEND_CHOICES, activeBackend, useBackend } from './models/backend.js';
export type { BackendChoice, BackendName } from './models/backend.js';
export { INFERENCE_PRECISIONS, inferenceEngine, inferencePrecision, useInferencePrecision } from './models/layers/nativeLstm.js';
export type { InferenceEngine, InferencePrecision, NativeEngine } from './models/layers/nativeLstm.js';

// Operators and items
export {
  batchAdaptive,
  batchItems,
  deadLetterRecord,
  decodePosts,
  encodeOutputs,
  tagBatch,
  taggerSlots,
  tapSafe,
  toMentions,
  TrendState,
  windowTrends,
} from './operators/index.js';
export type {
  BatchAdaptiveOptions,
  BatchItemsOptions,
  BatchLimits,
  DecodePostsOptions,
  EncodeOutputsOptions,
  FailedItem,
  Item,
  OkItem,
  OutputMessage,
  RawRecord,
  RecordRef,
  SlotClaim,
  StageName,
  TagBatchOptions,
  TaggedPost,
  TaggerSlots,
  TaggerSlotsOptions,
  TapSafeOptions,
  ToMentionsOptions,
  TrendEvent,
  TrendInput,
  TrendMention,
  TrendSettings,
  TrendSnapshot,
  WindowSnapshot,
  WindowTrendsOptions,
  AddResult,
} from './operators/index.js';
export { entityTrends, mentionRecordFromJson } from './pipeline/file/mentionRecords.js';
export type { InvalidLine } from './pipeline/file/mentionRecords.js';
export { postItems, postSource } from './api/posts.js';
export type { PostInput, PostRecordsOptions } from './api/posts.js';

// The pipeline, its sources and sinks
export { mentionStream } from './api/mentionStream.js';
export type { MentionStreamOptions } from './api/mentionStream.js';
export { callbackSink, decodeOutput } from './api/outputs.js';
export type { OutputHandlers } from './api/outputs.js';
export type { Edges, OutputSink, RecordSource } from './pipeline/core/ports.js';
export type { StreamSettings, RunningWorker, WorkerDeps } from './pipeline/stream/worker.js';
export { startWorker } from './pipeline/stream/worker.js';
export { openFileEdges } from './pipeline/file/edges.js';
export { FileSource, readPostsFile } from './pipeline/file/fileSource.js';
export type { FileRecord, FileSourceOptions } from './pipeline/file/fileSource.js';
export { FileSink } from './pipeline/file/fileSink.js';
export type { FileSinkOptions } from './pipeline/file/fileSink.js';
export { openKafkaEdges } from './pipeline/kafka/edges.js';
export type { KafkaEdgesDeps } from './pipeline/kafka/edges.js';
export { workerConfig } from './api/workerConfig.js';
export { defaultConfig, resolveWorkerConfig } from './pipeline/stream/config.js';
export type { BatchMode, ConfigSources, DeliveryMode, InferenceMode, SaslMechanism, WorkerConfig } from './pipeline/stream/config.js';
export { createLogger, silentLogger } from './pipeline/ops/logger.js';
export type { LogFormat, Logger, LoggerOptions, LogLevel, LogMethod } from './pipeline/ops/logger.js';
export { createPipelineMetrics } from './pipeline/ops/metrics.js';
export type { OutputName, PipelineMetrics, PipelineMetricsOptions, TensorMemory } from './pipeline/ops/metrics.js';

// Training and evaluation
export { trainNer } from './pipeline/train/trainNer.js';
export type { TrainNerInput } from './pipeline/train/trainNer.js';
export type { TrainResult } from './pipeline/train/trainTagger.js';
export type { EpochReport } from './pipeline/train/trainer.js';
export { DEFAULT_TRAIN_OPTIONS, resolveTrainOptions } from './pipeline/train/options.js';
export type { TrainOptions } from './pipeline/train/options.js';
export { evaluateNer, evaluateSegmentation } from './pipeline/train/evaluate.js';
export type { NerEvaluation, SegEvaluation } from './pipeline/train/evaluate.js';
export { parseSegmented, readSegmented, readWordList } from './models/data/segmentation.js';
export type { SegSentence } from './models/data/segmentation.js';
export { scoreSegmentation } from './models/eval/segScorer.js';
export type { RecallScore, SegScores } from './models/eval/segScorer.js';
export { parseConll, readConll } from './models/data/conll.js';
export type { NerSentence } from './models/data/conll.js';
export { scoreSpans } from './models/eval/spanScorer.js';
export type { NerScores, PrfScore } from './models/eval/spanScorer.js';
export { TaggerModel } from './models/taggerModel.js';
export type { Prediction, ScoredSpan, TaggerModelMeta } from './models/taggerModel.js';

// Records (Avro schemas) and errors
export { loadSchema, SCHEMA_NAMES } from './schemas/registry.js';
export type { SchemaName } from './schemas/registry.js';
export type { DeadLetter, EntityTrend, Geo, KafkaPosition, MentionRef, ModelRef, Post, PostMentions, TrendEntity } from './schemas/types.generated.js';
export { mentionJson, mentionLabel, postMentionsJson } from './schemas/mentionJson.js';
export type { MentionJson, PostMentionsJson } from './schemas/mentionJson.js';
export { labelFields } from './models/mention.js';
export type { LabelFields } from './models/mention.js';
export {
  BackendError,
  ConfigError,
  CorpusFormatError,
  DecodeError,
  KafkaEdgeError,
  MentionflowError,
  ModelArtifactError,
  RecordTooLargeError,
  TaggingError,
} from './common/errors.js';
export type { MentionflowErrorOptions } from './common/errors.js';

/**
 * Single-task NER training (`mentionflow train-ner`): reads the train and
 * dev sources (a CoNLL file, or any example source: sources/sourceSpec.ts)
 * and trains through trainTagger without a segmentation corpus.
 */
import { ENTITY_LABELS, labelSetOf } from '../../models/text/labels.js';
import { readNerSource, type SourceKafkaOptions } from './sources/openSource.js';
import type { TrainOptions } from './options.js';
import { trainTagger, type TrainResult } from './trainTagger.js';

export { bucketedBatches, toScheme } from './trainTagger.js';

/** Input of trainNer: the data sources, where the model goes, and the training options (see resolveTrainOptions). */
export interface TrainNerInput {
  /** Training data: a CoNLL file path, or any example source spec (e.g. "avro:archive/examples?from=2026-12-01"). */
  trainFile: string;
  /** Dev data, the same syntax. */
  devFile: string;
  /** Kafka connection for kafka: sources that do not name their brokers. */
  kafka?: SourceKafkaOptions;
  outDir: string;
  options: TrainOptions;
  /** Default: "weibo-ner-bilstm-crf" for data with WeiboNER's labels, else "ner-bilstm-crf". */
  modelId?: string;
  quiet?: boolean;
  resume?: boolean;
  /** Progress messages; default: lines on stderr. */
  log?: (msg: string) => void;
}

/** Trains a NER tagger on a CoNLL train file, keeping the epoch with the best F1 on the dev file, and saves it as a model artifact in `outDir` (loadable with loadTagger({ model: outDir })). */
export async function trainNer(input: TrainNerInput): Promise<TrainResult> {
  const log = input.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const read = (spec: string, where: string, role: string) => readNerSource(spec, { where, fingerprintRole: role, ...(input.kafka ? { kafka: input.kafka } : {}) });
  const [trainData, devData] = await Promise.all([read(input.trainFile, 'train', 'ner-train'), read(input.devFile, 'dev', 'ner-dev')]);
  const [train, dev] = [trainData.sentences, devData.sentences];
  log(`train: ${train.length} sentences from ${input.trainFile}; dev: ${dev.length} from ${input.devFile}`);
  return trainTagger({
    ner: { train, dev },
    options: input.options,
    outDir: input.outDir,
    modelId: input.modelId ?? (labelSetOf(train.map((s) => s.tags)).join(' ') === ENTITY_LABELS.join(' ') ? 'weibo-ner-bilstm-crf' : 'ner-bilstm-crf'),
    data: [trainData.fingerprint, devData.fingerprint],
    quiet: input.quiet,
    resume: input.resume,
    log,
  });
}

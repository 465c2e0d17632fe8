/**
 * Single-task NER training (`mentionflow train-ner`): reads the CoNLL train
 * and dev files and trains through trainTagger without a segmentation corpus.
 */
import { readConll } from '../../models/data/conll.js';
import { ENTITY_LABELS, labelSetOf } from '../../models/text/labels.js';
import { fingerprint } from './fingerprint.js';
import type { TrainOptions } from './options.js';
import { trainTagger, type TrainResult } from './trainTagger.js';

export { bucketedBatches, toScheme } from './trainTagger.js';

/** Input of trainNer: the CoNLL files, where the model goes, and the training options (see resolveTrainOptions). */
export interface TrainNerInput {
  trainFile: string;
  devFile: string;
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
  const [train, dev] = await Promise.all([readConll(input.trainFile), readConll(input.devFile)]);
  log(`train: ${train.length} sentences from ${input.trainFile}; dev: ${dev.length} from ${input.devFile}`);
  return trainTagger({
    ner: { train, dev },
    options: input.options,
    outDir: input.outDir,
    modelId: input.modelId ?? (labelSetOf(train.map((s) => s.tags)).join(' ') === ENTITY_LABELS.join(' ') ? 'weibo-ner-bilstm-crf' : 'ner-bilstm-crf'),
    data: [await fingerprint('ner-train', input.trainFile, train.length), await fingerprint('ner-dev', input.devFile, dev.length)],
    quiet: input.quiet,
    resume: input.resume,
    log,
  });
}

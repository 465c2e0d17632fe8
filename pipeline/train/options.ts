/**
 * Training options: defaults, JSON config file merging and validation at
 * construction. Unknown keys and out-of-range values are rejected with a
 * message naming the option and its allowed range.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../common/errors.js';

/** Every training option (network size, optimizer, schedule, features); resolveTrainOptions validates them. */
export interface TrainOptions {
  /** Seed for initialisation, shuffling, subsampling and dropout. */
  seed: number;
  /** Maximum number of epochs. */
  epochs: number;
  /** Sentences per minibatch. */
  batchSize: number;
  optimizer: 'adam' | 'sgd';
  /** Learning rate of the NER objective. */
  learningRate: number;
  /** Learning rate of the segmentation objective (joint training). */
  segLearningRate: number;
  /** Halve a task's learning rate after this many epochs without dev gain. */
  lrPatience: number;
  /** Stop after this many epochs without NER dev gain. */
  earlyStopPatience: number;
  /** Clip gradients to this global L2 norm (0: off). */
  clipNorm: number;
  embeddingDim: number;
  hiddenDim: number;
  bidirectional: boolean;
  /** Dropout on the LSTM input, in [0, 1). */
  dropout: number;
  /** NER emissions read the LSTM hidden vectors. */
  useHidden: boolean;
  /** NER emissions read the character embeddings. */
  useEmbeddings: boolean;
  /** Hash buckets for the sparse lexical features (0: off). */
  lexicalBuckets: number;
  /**
   * Tag scheme of the model: BIO, BIOES, or auto (the training data's own:
   * BIOES when a tag has an E- or S- prefix, else BIO).
   */
  scheme: 'BIO' | 'BIOES' | 'auto';
  /** Characters seen fewer times in training map to UNK. */
  minFreq: number;
  /** Normalise full-width ASCII to half-width before lookup. */
  normalize: boolean;
  /** Longest piece of text fed to the tagger at once (code points). */
  maxLength: number;
  /**
   * Weight of the segmentation loss in joint training and segmentation
   * pretraining (the paper's lambda), in (0, 10]; the paper tunes it in
   * [0.5, 1]. Not 0: the segmentation head would learn nothing while its
   * batches still ran; NER alone is `train-ner`.
   */
  lambda: number;
  /** Segmentation dev sentences scored per epoch in joint training (a fixed sample; 0 = all). */
  segDevSample: number;
  /** Epochs of segmentation-only training before NER in the pipeline configuration. */
  pretrainEpochs: number;
  /**
   * The embedding table is indexed by char-positional tokens (the character
   * plus its position in its jieba word, "北0 京1") instead of characters;
   * recorded in the artifact, and the tagger runs jieba at predict time.
   */
  charPositional: boolean;
  /**
   * Pre-trained embeddings (`mentionflow pretrain-embeddings`, or word2vec
   * text format): rows of the tokens it has start from its vectors, and its
   * tokens join the vocabulary. Unset: random initialisation.
   */
  embeddingsFile?: string;
  /**
   * Name dictionary (jieba format, `word freq pos`; e.g. the golden-horse
   * names.txt): its person (nr, nrt, nrfg), place (ns) and organisation (nt)
   * words give the NER head dictionary-match features (BIES position of each
   * character in a forward-maximum-matching per type, alone and with the
   * character), hashed into the lexical buckets. The filtered word lists
   * are stored in the artifact. Unset: no dictionary features.
   */
  lexiconFile?: string;
  /** Dictionary words with a frequency below this are dropped. */
  lexiconMinFreq: number;
  /** Dictionary words shorter than this (characters) are dropped. */
  lexiconMinLength: number;
  /**
   * General dictionary (jieba format, `word freq pos`, e.g. jieba's
   * dict.txt, fetched by `deploy/fetch-jieba-dict.sh`) for SoftLexicon features: the
   * B/M/E/S sets of dictionary words matching at each character, summarised
   * by frequency class, part-of-speech classes and longest length, hashed
   * into the lexical buckets (models/features/softLexicon.ts). The kept
   * entries are stored in the artifact. Unset: none.
   */
  softLexiconFile?: string;
  /** Keep only this many most frequent dictionary words (0: all). */
  softLexiconTopN: number;
  /** Longest dictionary word kept (characters). */
  softLexiconMaxWordLength: number;
  /**
   * Weight averaging (issue 16): 0 = off; else the decay of an exponential
   * moving average of the weights updated after every optimisation step
   * (pipeline/train/weightAverage.ts), in [0.5, 1). The averaged weights are
   * scored on dev at each epoch end (`avg_` metrics, next to the raw ones),
   * early stopping and the best epoch follow them, and the artifact holds
   * them; learning-rate halving still follows the raw weights. 1 / (1 -
   * decay) steps is the horizon: 0.998 is about 3 epochs of joint WeiboNER
   * training (~170 steps an epoch).
   */
  emaDecay: number;
  /**
   * Distillation (issue 16): with silver sentences given (a teacher's
   * labels, `mentionflow distil`; `train-joint --silver`), each epoch's NER
   * batches mix a fresh random subsample of silverRatio x the gold training
   * set's size of them (all when there are fewer) into the gold batches, so
   * gold is not drowned however large the silver set. In (0, 100]; unused
   * without silver sentences.
   */
  silverRatio: number;
  /**
   * Softmax-margin training of the NER head (issue 16, recall; Gimpel & Smith
   * 2010, models/crf/fastNll.ts): the cost of a wrong label at a gold mention
   * position. With marginCostSpurious below it, a recall-oriented cost
   * (Mohit et al. 2012). Both 0 (default): the CRF likelihood, draw for draw
   * as before. In [0, 10]; the segmentation head always trains on the
   * likelihood.
   */
  marginCostMissed: number;
  /** Softmax-margin: the cost of a mention label at a gold O position; in [0, 10], default 0. */
  marginCostSpurious: number;
}

/** The training defaults (the configuration of the paper's BiLSTM-CRF baseline as tuned here). */
export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  seed: 1,
  epochs: 30,
  batchSize: 16,
  optimizer: 'adam',
  learningRate: 0.004,
  segLearningRate: 0.004,
  lrPatience: 5,
  earlyStopPatience: 10,
  clipNorm: 5,
  embeddingDim: 100,
  hiddenDim: 150,
  bidirectional: true,
  dropout: 0.3,
  useHidden: true,
  useEmbeddings: false,
  lexicalBuckets: 131072,
  scheme: 'auto',
  minFreq: 1,
  normalize: true,
  maxLength: 200,
  lambda: 1,
  segDevSample: 500,
  pretrainEpochs: 5,
  charPositional: false,
  lexiconMinFreq: 1,
  lexiconMinLength: 2,
  softLexiconTopN: 0,
  softLexiconMaxWordLength: 8,
  emaDecay: 0,
  silverRatio: 1,
  marginCostMissed: 0,
  marginCostSpurious: 0,
};

type Check = (v: unknown) => string | undefined;
const int = (min: number, max = Number.MAX_SAFE_INTEGER): Check => (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? undefined : `an integer in [${min}, ${max}]`;
const num = (min: number, max: number, maxOpen = false): Check => (v) =>
  typeof v === 'number' && v >= min && (maxOpen ? v < max : v <= max) ? undefined : `a number in [${min}, ${max}${maxOpen ? ')' : ']'}`;
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'true or false');
const oneOf = (...xs: string[]): Check => (v) => (xs.includes(v as string) ? undefined : `one of ${xs.join(', ')}`);

const CHECKS: Record<keyof TrainOptions, Check> = {
  seed: int(0, 2 ** 31 - 1),
  epochs: int(1, 1000),
  batchSize: int(1, 4096),
  optimizer: oneOf('adam', 'sgd'),
  learningRate: num(1e-6, 10),
  segLearningRate: num(1e-6, 10),
  lrPatience: int(1, 1000),
  earlyStopPatience: int(1, 1000),
  clipNorm: num(0, 1e6),
  embeddingDim: int(1, 4096),
  hiddenDim: int(1, 4096),
  bidirectional: bool,
  dropout: num(0, 1, true),
  useHidden: bool,
  useEmbeddings: bool,
  lexicalBuckets: int(0, 2 ** 24),
  scheme: oneOf('BIO', 'BIOES', 'auto'),
  minFreq: int(1, 1e9),
  normalize: bool,
  maxLength: int(8, 100000),
  lambda: (v) =>
    typeof v === 'number' && v > 0 && v <= 10 ? undefined : 'a number in (0, 10] (the paper tunes it in [0.5, 1]; for NER without segmentation use train-ner)',
  segDevSample: int(0, 1e9),
  pretrainEpochs: int(1, 1000),
  charPositional: bool,
  embeddingsFile: (v) => (v === undefined || (typeof v === 'string' && v.length > 0) ? undefined : 'a file path (a non-empty string) or unset'),
  lexiconFile: (v) => (v === undefined || (typeof v === 'string' && v.length > 0) ? undefined : 'a file path (a non-empty string) or unset'),
  lexiconMinFreq: int(0, 1e12),
  lexiconMinLength: int(1, 100),
  softLexiconFile: (v) => (v === undefined || (typeof v === 'string' && v.length > 0) ? undefined : 'a file path (a non-empty string) or unset'),
  softLexiconTopN: int(0, 1e9),
  softLexiconMaxWordLength: int(2, 100),
  emaDecay: (v) => (v === 0 || (typeof v === 'number' && v >= 0.5 && v < 1) ? undefined : '0 (off) or a number in [0.5, 1) (the moving average\'s decay per step, e.g. 0.998)'),
  silverRatio: (v) => (typeof v === 'number' && v > 0 && v <= 100 ? undefined : 'a number in (0, 100] (silver sentences per epoch, as a multiple of the gold training set\'s size)'),
  marginCostMissed: num(0, 10),
  marginCostSpurious: num(0, 10),
};

/**
 * Merges option layers, later layers winning, where an undefined value does
 * not count as set (so a command-line flag that was not given leaves the
 * config file's value alone).
 */
export function layered(...layers: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) for (const [k, v] of Object.entries(layer)) if (v !== undefined) out[k] = v;
  return out;
}

/** Merges `overrides` into the defaults and validates every field. `source` names where they came from. */
export function resolveTrainOptions(overrides: Record<string, unknown>, source = 'options'): TrainOptions {
  const out: Record<string, unknown> = { ...DEFAULT_TRAIN_OPTIONS };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if (!(k in CHECKS)) throw new ConfigError(`${source}: unknown option "${k}"; known options: ${Object.keys(CHECKS).join(', ')}`);
    out[k] = v;
  }
  for (const [k, check] of Object.entries(CHECKS)) {
    const problem = check(out[k]);
    if (problem) throw new ConfigError(`${source}: option "${k}" must be ${problem}, got ${JSON.stringify(out[k])}`);
  }
  const o = out as unknown as TrainOptions;
  if (!o.useHidden && !o.useEmbeddings && o.lexicalBuckets === 0) {
    throw new ConfigError(`${source}: the NER emissions need at least one input: set useHidden, useEmbeddings or lexicalBuckets > 0`);
  }
  if ((o.charPositional || o.embeddingsFile !== undefined) && !o.useHidden && !o.useEmbeddings) {
    throw new ConfigError(`${source}: ${o.charPositional ? 'charPositional' : 'embeddingsFile'} changes the embedding table, which the NER emissions read only with useHidden or useEmbeddings set`);
  }
  if (o.lexiconFile !== undefined && o.lexicalBuckets === 0) {
    throw new ConfigError(`${source}: lexiconFile adds dictionary features hashed into the lexical buckets; set lexicalBuckets > 0`);
  }
  if (o.softLexiconFile !== undefined && o.lexicalBuckets === 0) {
    throw new ConfigError(`${source}: softLexiconFile adds SoftLexicon features hashed into the lexical buckets; set lexicalBuckets > 0`);
  }
  return o;
}

/** Reads a JSON config file of training options (validated by resolveTrainOptions later). */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const json = JSON.parse(text) as unknown;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('expected a JSON object');
    return json as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`config file ${path} is not a JSON object of options: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Pre-training of character or char-positional embeddings: the unlabelled
 * corpus (./corpus.ts, or any example sources: the text of archived Post
 * records, text files, ...; ../sources/sourceSpec.ts) -> the tokens a tagger reads (inputTokens, jieba for
 * char-positional ones) -> word2vec skip-gram (./word2vec.ts) -> an
 * embeddings file (./embeddingsFile.ts) that `embeddingsFile` in the
 * training options points at.
 */
import { inputTokens } from '../../../models/text/charPositions.js';
import { jiebaSegmenter, JIEBA_SEGMENTER_NAME } from '../../../models/text/jiebaSegmenter.js';
import { writeEmbeddings, type Embeddings } from './embeddingsFile.js';
import { loadUnlabeledCorpus, type UnlabeledCorpus } from './corpus.js';
import { readTextSource, type SourceKafkaOptions } from '../sources/openSource.js';
import { trainWord2Vec, WORD2VEC_DEFAULTS, type Word2VecOptions } from './word2vec.js';

export interface PretrainInput extends Omit<Word2VecOptions, 'label'> {
  /** Folder holding nlpcc2016-weibo-cws/ and weiboNER/; read when `sources` is not given. */
  corporaDir: string;
  /** Example sources whose text is the corpus (e.g. "archive/posts?from=2026-12-01", "text:dump.txt"); replace corporaDir's files. */
  sources?: readonly string[];
  /** Kafka connection for kafka: sources that do not name their brokers. */
  kafka?: SourceKafkaOptions;
  /** Embeddings file to write. */
  out: string;
  /** Char-positional tokens (jieba) instead of plain characters. */
  positional: boolean;
  /** Normalise characters as the tagger's vocabulary does (its default). Default true. */
  normalize?: boolean;
  log?: (msg: string) => void;
}

export interface PretrainResult {
  embeddings: Embeddings;
  /** Wall-clock seconds: reading the corpus, tokenising (jieba included), word2vec. */
  seconds: { read: number; tokenize: number; train: number };
  corpusTokens: number;
}

/** The unlabelled sentences of example sources, each fingerprinted. */
async function loadSources(specs: readonly string[], kafka?: SourceKafkaOptions): Promise<UnlabeledCorpus> {
  const parts = [];
  for (const spec of specs) parts.push(await readTextSource(spec, { where: '--text', fingerprintRole: 'unlabeled', ...(kafka ? { kafka } : {}) }));
  return {
    sentences: parts.flatMap((p) => p.sentences),
    sources: parts.map(({ fingerprint: { file, sha256, sentences } }) => ({ file, sha256, sentences })),
  };
}

export async function pretrainEmbeddings(input: PretrainInput): Promise<PretrainResult> {
  const log = input.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const normalize = input.normalize ?? true;
  const t0 = Date.now();
  const corpus = input.sources !== undefined && input.sources.length > 0 ? await loadSources(input.sources, input.kafka) : await loadUnlabeledCorpus(input.corporaDir);
  const t1 = Date.now();
  const segment = input.positional ? jiebaSegmenter() : undefined;
  const sentences = corpus.sentences.map((chars) => inputTokens(chars, { charPositional: input.positional, normalize }, segment));
  const t2 = Date.now();
  const chars = sentences.reduce((a, s) => a + s.length, 0);
  log(`pretrain-embeddings: ${sentences.length.toLocaleString('en-US')} sentences, ${chars.toLocaleString('en-US')} ${input.positional ? 'char-positional tokens' : 'characters'} from ${corpus.sources.map((s) => s.file).join(', ')}`);
  const { out: _out, corporaDir: _dir, sources: _sources, kafka: _kafka, positional, normalize: _n, log: _log, ...w2v } = input;
  const result = trainWord2Vec(sentences, { ...w2v, label: `word2vec ${positional ? 'char-positional' : 'char'}` });
  const t3 = Date.now();
  const embeddings: Embeddings = {
    dim: result.dim,
    tokens: result.tokens,
    vectors: result.vectors,
    meta: {
      positional,
      normalize,
      segmenter: positional ? JIEBA_SEGMENTER_NAME : undefined,
      corpus: corpus.sources,
      training: {
        method: 'word2vec skip-gram, negative sampling',
        window: w2v.window ?? WORD2VEC_DEFAULTS.window,
        negative: w2v.negative ?? WORD2VEC_DEFAULTS.negative,
        epochs: w2v.epochs ?? WORD2VEC_DEFAULTS.epochs,
        minCount: w2v.minCount ?? WORD2VEC_DEFAULTS.minCount,
        sample: w2v.sample ?? WORD2VEC_DEFAULTS.sample,
        learningRate: w2v.learningRate ?? WORD2VEC_DEFAULTS.learningRate,
        seed: w2v.seed ?? WORD2VEC_DEFAULTS.seed,
        corpusTokens: result.corpusTokens,
        pairs: result.pairs,
        seconds: result.seconds,
      },
      createdAt: new Date().toISOString(),
    },
  };
  await writeEmbeddings(input.out, embeddings);
  const seconds = { read: (t1 - t0) / 1000, tokenize: (t2 - t1) / 1000, train: (t3 - t2) / 1000 };
  log(`pretrain-embeddings: ${result.tokens.length.toLocaleString('en-US')} vectors of ${result.dim} written to ${input.out} (read ${seconds.read.toFixed(1)}s, tokenise ${seconds.tokenize.toFixed(1)}s, word2vec ${seconds.train.toFixed(1)}s)`);
  return { embeddings, seconds, corpusTokens: result.corpusTokens };
}

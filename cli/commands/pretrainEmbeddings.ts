/** `mentionflow pretrain-embeddings`: word2vec character or char-positional embeddings from the unlabelled Weibo text at hand. */
import { DEFAULT_TRAIN_OPTIONS } from '../../pipeline/train/options.js';
import { PRETRAIN_FILES } from '../../pipeline/train/pretrain/corpus.js';
import { pretrainEmbeddings } from '../../pipeline/train/pretrain/pretrainEmbeddings.js';
import { SOURCE_SYNTAX_HELP } from '../../pipeline/train/sources/sourceSpec.js';
import { checkSourceOption, sourceKafka } from '../sourceOption.js';
import { numberOption, requireString, type CommandSpec, type Parsed } from '../args.js';
import { corporaDir } from '../defaults.js';

export const spec: CommandSpec = {
  name: 'pretrain-embeddings',
  summary: 'pre-train character (or char-positional) embeddings with word2vec skip-gram on unlabelled Weibo text (archived posts, text files, corpora)',
  usage: 'mentionflow pretrain-embeddings --out FILE [--text SOURCE]... [--positional] [--dim N] [--epochs N] [--corpora DIR]',
  options: {
    out: { type: 'string', arg: 'FILE', description: 'embeddings file to write (JSON header + float32 vectors)' },
    positional: { type: 'boolean', description: 'char-positional tokens (character + its position in its jieba word, "北0 京1") instead of characters' },
    dim: { type: 'string', arg: 'N', description: `vector size; must equal the tagger's embeddingDim (default ${DEFAULT_TRAIN_OPTIONS.embeddingDim})` },
    epochs: { type: 'string', arg: 'N', description: 'passes over the corpus (default 5)' },
    window: { type: 'string', arg: 'N', description: 'context window on each side (default 5)' },
    negative: { type: 'string', arg: 'N', description: 'negative samples per pair (default 5)' },
    'min-count': { type: 'string', arg: 'N', description: 'ignore tokens seen fewer times (default 2)' },
    seed: { type: 'string', arg: 'N', description: 'random seed (default 1)' },
    'no-normalize': { type: 'boolean', description: 'keep full-width characters (for taggers trained with normalize: false)' },
    text: { type: 'string', arg: 'SOURCE', multiple: true, description: 'unlabelled text to pre-train on, repeatable: an archive of posts (DIR, GLOB, FILE.avro, with ?from=&to= hours), text:FILE (a sentence a line), seg:/conll: files, kafka:TOPIC of posts; replaces --corpora' },
    corpora: { type: 'string', arg: 'DIR', description: 'without --text: folder with nlpcc2016-weibo-cws/ and weiboNER/ (default ../shared/corpora or $MENTIONFLOW_CORPORA)' },
    quiet: { type: 'boolean', description: 'no progress output' },
  },
  notes: [
    'Corpus without --text (under --corpora): the text of',
    ...[...PRETRAIN_FILES.segmented, ...PRETRAIN_FILES.raw, ...PRETRAIN_FILES.conll].map((f) => `  ${f}`),
    'Use the file with `"embeddingsFile": FILE` (and `"charPositional": true` for --positional) in a training config.',
    '',
    SOURCE_SYNTAX_HELP,
    'For --text a plain FILE is read as text (a sentence a line).',
  ].join('\n'),
};

export async function run(p: Parsed): Promise<number> {
  const out = requireString(p, 'out', spec.name);
  const text = (p.values.text as string[] | undefined) ?? [];
  for (const source of text) await checkSourceOption(source, '--text', 'text');
  await pretrainEmbeddings({
    sources: text,
    kafka: sourceKafka(),
    corporaDir: typeof p.values.corpora === 'string' ? p.values.corpora : corporaDir(),
    out,
    positional: p.values.positional === true,
    normalize: p.values['no-normalize'] !== true,
    dim: numberOption(p, 'dim', { integer: true, min: 1, max: 4096 }) ?? DEFAULT_TRAIN_OPTIONS.embeddingDim,
    epochs: numberOption(p, 'epochs', { integer: true, min: 1, max: 1000 }),
    window: numberOption(p, 'window', { integer: true, min: 1, max: 100 }),
    negative: numberOption(p, 'negative', { integer: true, min: 1, max: 100 }),
    minCount: numberOption(p, 'min-count', { integer: true, min: 1 }),
    seed: numberOption(p, 'seed', { integer: true, min: 0 }),
    quiet: p.values.quiet === true,
  });
  return 0;
}

/** `mentionflow segment`: word segmentation by the model's segmentation head: texts in, words out. */
import { createReadStream } from 'node:fs';
import { ConfigError } from '../../common/errors.js';
import { useBackend, type BackendChoice } from '../../models/backend.js';
import { NeuralTagger, type Word } from '../../models/tagger.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { BACKEND_OPTION, checkPath, numberOption, type CommandSpec, type Parsed } from '../args.js';
import { modelDirOption } from '../defaults.js';
import { batches } from './tag.js';

export const spec: CommandSpec = {
  name: 'segment',
  summary: 'segment texts into words with the model\'s segmentation head: texts as arguments, --input FILE or stdin, one text a line; words out, space-separated or NDJSON',
  usage: 'mentionflow segment [--model DIR] [--input FILE] [--json] [TEXT ...]',
  allowPositionals: true,
  positionals: 'TEXT',
  options: {
    model: { type: 'string', arg: 'DIR', description: 'model artifact directory with a segmentation head (default: the shipped model, models/default)' },
    input: { type: 'string', arg: 'FILE', description: 'read the texts from FILE, one a line (UTF-8), instead of stdin' },
    json: { type: 'boolean', description: 'print one JSON object per text (NDJSON): {"text", "words": [{"text", "start", "end", "start_utf16", "end_utf16"}]}' },
    'batch-size': { type: 'string', arg: 'N', description: 'texts segmented together', default: '64' },
    backend: BACKEND_OPTION,
  },
  notes: [
    'Every input line gets one output line (a blank line stays blank), so `mentionflow segment --input raw.txt > seg.txt` keeps the lines aligned, as the SIGHAN scorer wants.',
    'Whitespace in a text separates words and is not printed. Offsets count Unicode code points (start inclusive, end exclusive); the JSON also gives UTF-16 offsets.',
    'Models trained with train-ner have no segmentation head; the shipped default (train-joint) has one. It reads jieba\'s word positions too (char-positional input).',
    'example: mentionflow segment "我在北京见到了张三"',
  ].join('\n'),
};

/** One output line for a text and its words. */
export function segmentLine(text: string, words: readonly Word[], json: boolean): string {
  return json ? JSON.stringify({ text, words }) : words.map((w) => w.text).join(' ');
}

export async function run(p: Parsed): Promise<number> {
  const dir = modelDirOption(p);
  const batchSize = numberOption(p, 'batch-size', { integer: true, min: 1, max: 4096 }) as number;
  const input = typeof p.values.input === 'string' ? p.values.input : undefined;
  if (input !== undefined && p.positionals.length > 0) throw new ConfigError('give the texts as arguments or with --input, not both');
  if (input !== undefined) checkPath(input, '--input');
  await useBackend(p.values.backend as BackendChoice);
  const { model } = await TaggerModel.load(dir);
  const tagger = new NeuralTagger(model, { batchSize });
  try {
    if (!tagger.canSegment) {
      throw new ConfigError(`--model ${dir}: model ${tagger.modelId} ${tagger.modelVersion} has no segmentation head (trained for NER only); use a model trained with train-joint, such as the shipped default`);
    }
    const source = input === undefined ? process.stdin : createReadStream(input, 'utf8');
    let first = true;
    for await (const pending of batches(p, batchSize, source, true)) {
      const texts = pending.map((t) => {
        const text = first ? t.replace(/^\uFEFF/, '') : t; // a UTF-8 byte order mark is not text
        first = false;
        return text;
      });
      const results = await tagger.segment(texts);
      process.stdout.write(texts.map((text, i) => segmentLine(text, results[i], p.values.json === true) + '\n').join(''));
    }
  } finally {
    tagger.dispose();
  }
  return 0;
}

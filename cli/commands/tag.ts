/** `mentionflow tag`: the quickest way to try a model: texts in, mentions out. */
import { createInterface } from 'node:readline';
import { useBackend, type BackendChoice } from '../../models/backend.js';
import { NeuralTagger, type Mention } from '../../models/tagger.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { BACKEND_OPTION, numberOption, type CommandSpec, type Parsed } from '../args.js';
import { modelDirOption } from '../defaults.js';

export const spec: CommandSpec = {
  name: 'tag',
  summary: 'tag texts given as arguments, or one per line on stdin, and print their mentions',
  usage: 'mentionflow tag [--model DIR] [--json] [TEXT ...]',
  allowPositionals: true,
  positionals: 'TEXT',
  options: {
    model: { type: 'string', arg: 'DIR', description: 'model artifact directory (default: the shipped model, models/default)' },
    json: { type: 'boolean', description: 'print one JSON object per text (NDJSON)' },
    'batch-size': { type: 'string', arg: 'N', description: 'texts tagged together', default: '64' },
    backend: BACKEND_OPTION,
  },
  notes: 'Offsets count Unicode code points (start inclusive, end exclusive); the JSON also gives UTF-16 offsets.\nexample: mentionflow tag "我在北京见到了张三"',
};

function readable(text: string, mentions: Mention[]): string {
  const lines = [text];
  if (mentions.length === 0) lines.push('  (no mentions)');
  for (const m of mentions) lines.push(`  ${m.label.padEnd(8)} ${m.text}  [${m.start}, ${m.end})  p=${m.confidence.toFixed(2)}`);
  return lines.join('\n');
}

async function* inputs(p: Parsed): AsyncGenerator<string> {
  if (p.positionals.length > 0) {
    yield* p.positionals;
    return;
  }
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) if (line.trim() !== '') yield line;
}

export async function run(p: Parsed): Promise<number> {
  const dir = modelDirOption(p);
  const batchSize = numberOption(p, 'batch-size', { integer: true, min: 1, max: 4096 }) as number;
  await useBackend(p.values.backend as BackendChoice);
  const { model } = await TaggerModel.load(dir);
  const tagger = new NeuralTagger(model, { batchSize });
  try {
    let pending: string[] = [];
    const flush = async () => {
      const results = await tagger.tag(pending);
      pending.forEach((text, i) => {
        process.stdout.write((p.values.json ? JSON.stringify({ text, mentions: results[i] }) : readable(text, results[i])) + '\n');
      });
      pending = [];
    };
    for await (const text of inputs(p)) {
      pending.push(text);
      if (pending.length >= batchSize) await flush();
    }
    if (pending.length > 0) await flush();
  } finally {
    tagger.dispose();
  }
  return 0;
}

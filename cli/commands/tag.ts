/** `mentionflow tag`: the quickest way to try a model: texts in, mentions out. */
import { createInterface } from 'node:readline';
import { useBackend, type BackendChoice } from '../../models/backend.js';
import { type InferencePrecision, useInferencePrecision } from '../../models/layers/nativeLstm.js';
import { NeuralTagger, type Mention } from '../../models/tagger.js';
import { mentionJson } from '../../schemas/mentionJson.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { BACKEND_OPTION, numberOption, PRECISION_OPTION, type CommandSpec, type Parsed } from '../args.js';
import { modelDirOption } from '../defaults.js';

export const spec: CommandSpec = {
  name: 'tag',
  summary: 'tag texts given as arguments, or one per line on stdin (each line answered as it arrives), and print their mentions',
  usage: 'mentionflow tag [--model DIR] [--json] [TEXT ...]',
  allowPositionals: true,
  positionals: 'TEXT',
  options: {
    model: { type: 'string', arg: 'DIR', description: 'model artifact directory (default: the shipped model, models/default)' },
    json: { type: 'boolean', description: 'print one JSON object per text (NDJSON)' },
    'batch-size': { type: 'string', arg: 'N', description: 'texts tagged together', default: '64' },
    backend: BACKEND_OPTION,
    precision: PRECISION_OPTION,
  },
  notes: 'Offsets count Unicode code points (start inclusive, end exclusive); the JSON also gives UTF-16 offsets.\nWith --json, each mention has the fields of the output topic\'s Mention record: text, label, type, kind, start, end, start_utf16, end_utf16, confidence.\nexample: mentionflow tag "我在北京见到了张三"',
};

function readable(text: string, mentions: Mention[]): string {
  const lines = [text];
  if (mentions.length === 0) lines.push('  (no mentions)');
  for (const m of mentions) lines.push(`  ${m.label.padEnd(8)} ${m.text}  [${m.start}, ${m.end})  p=${m.confidence.toFixed(2)}`);
  return lines.join('\n');
}

/**
 * The texts to tag, in batches: the arguments as batches of `max`; stdin line
 * by line as it comes, each batch holding the lines that arrived while the
 * previous one was being tagged (at most `max`), so a line typed or piped in
 * is tagged at once and a file streams in full batches. Reading pauses while
 * a few batches are waiting. Blank lines are skipped unless `keepBlank`
 * (`segment` answers every line, so its output lines match its input's).
 */
export async function* batches(p: Parsed, max: number, input: NodeJS.ReadableStream = process.stdin, keepBlank = false): AsyncGenerator<string[]> {
  if (p.positionals.length > 0) {
    for (let i = 0; i < p.positionals.length; i += max) yield p.positionals.slice(i, i + max);
    return;
  }
  const queue: string[] = [];
  let closed = false;
  let wake: (() => void) | undefined;
  const lines = createInterface({ input, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (!keepBlank && line.trim() === '') return;
    queue.push(line);
    if (queue.length >= 4 * max) lines.pause();
    wake?.();
  });
  lines.on('close', () => {
    closed = true;
    wake?.();
  });
  try {
    for (;;) {
      if (queue.length === 0) {
        if (closed) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const batch = queue.splice(0, max);
      if (!closed) lines.resume();
      yield batch;
    }
  } finally {
    lines.close();
  }
}

export async function run(p: Parsed): Promise<number> {
  const dir = modelDirOption(p);
  const batchSize = numberOption(p, 'batch-size', { integer: true, min: 1, max: 4096 }) as number;
  await useBackend(p.values.backend as BackendChoice);
  useInferencePrecision(p.values.precision as InferencePrecision);
  const { model } = await TaggerModel.load(dir);
  const tagger = new NeuralTagger(model, { batchSize });
  try {
    for await (const pending of batches(p, batchSize)) {
      const results = await tagger.tag(pending);
      pending.forEach((text, i) => {
        process.stdout.write((p.values.json ? JSON.stringify({ text, mentions: results[i].map(mentionJson) }) : readable(text, results[i])) + '\n');
      });
    }
  } finally {
    tagger.dispose();
  }
  return 0;
}

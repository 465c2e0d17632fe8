/** `mentionflow eval`: exact-span P/R/F1 of a model on a CoNLL file, as in the paper's Table 1. */
import { writeFile } from 'node:fs/promises';
import { useBackend, type BackendChoice } from '../../models/backend.js';
import { formatConllevalLines, type NerScores, type PrfScore } from '../../models/eval/spanScorer.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { tagsToSpans } from '../../models/text/labels.js';
import { evaluateNer } from '../../pipeline/train/evaluate.js';
import { readNerSource } from '../../pipeline/train/sources/openSource.js';
import { SOURCE_SYNTAX_HELP } from '../../pipeline/train/sources/sourceSpec.js';
import { BACKEND_OPTION, type CommandSpec, type Parsed } from '../args.js';
import { requireSource, sourceKafka } from '../sourceOption.js';
import { modelDirOption } from '../defaults.js';

export const spec: CommandSpec = {
  name: 'eval',
  summary: 'score a model on labelled data: precision, recall, F1 by exact span, per label, overall (and named, nominal for NAM/NOM labels)',
  usage: 'mentionflow eval --data SOURCE [--model DIR] [--json] [--write-predictions FILE]',
  options: {
    model: { type: 'string', arg: 'DIR', description: 'model artifact directory (default: the shipped model, models/default)' },
    data: { type: 'string', arg: 'SOURCE', description: 'char-per-line CoNLL file with gold tags (BIO or BIOES, any labels), or any example source with NER spans (see below)' },
    json: { type: 'boolean', description: 'print the scores as JSON' },
    'write-predictions': { type: 'string', arg: 'FILE', description: 'write "char gold predicted" lines (conlleval input) to FILE' },
    backend: BACKEND_OPTION,
  },
  notes: 'Scores are percentages; a mention counts only if its start, end and label all match (conlleval semantics).\nNamed and nominal rows appear when the labels have the NAM/NOM split (WeiboNER).\nCheck them with conlleval: perl conlleval.pl -d " " < FILE\n\n' + SOURCE_SYNTAX_HELP,
};

export function formatScores(s: NerScores): string {
  const rows: [string, PrfScore][] = [
    ...Object.entries(s.perLabel).sort(([a], [b]) => a.localeCompare(b)),
    ...(s.named && s.nominal ? ([['named', s.named], ['nominal', s.nominal]] as [string, PrfScore][]) : []),
    ['overall', s.overall],
  ];
  const lines = ['label        precision  recall     F1   gold  pred', '-----------------------------------------------'];
  for (const [name, r] of rows) {
    lines.push(`${name.padEnd(12)} ${r.precision.toFixed(2).padStart(9)} ${r.recall.toFixed(2).padStart(7)} ${r.f1.toFixed(2).padStart(6)} ${String(r.tp + r.fn).padStart(6)} ${String(r.tp + r.fp).padStart(5)}`);
  }
  return lines.join('\n');
}

export async function run(p: Parsed): Promise<number> {
  const data = await requireSource(p, 'data', spec.name, 'ner');
  const dir = modelDirOption(p);
  await useBackend(p.values.backend as BackendChoice);
  const sentences = (await readNerSource(data, { where: '--data', fingerprintRole: 'eval', kafka: sourceKafka() })).sentences.filter((s) => s.chars.length > 0);
  const { model, manifest } = await TaggerModel.load(dir);
  try {
    const modelLabels = new Set(model.nerTags.labels);
    const foreign = [...new Set(sentences.flatMap((s) => tagsToSpans(s.tags).map((x) => x.label)))].filter((l) => !modelLabels.has(l)).sort();
    if (foreign.length > 0) {
      process.stderr.write(`eval: warning: ${data} has labels the model never predicts: ${foreign.join(', ')} (the model's: ${[...modelLabels].join(', ')})\n`);
    }
    const { scores, predictedTags } = await evaluateNer(model, sentences);
    if (typeof p.values['write-predictions'] === 'string') {
      const lines = formatConllevalLines(
        sentences.map((s) => s.chars),
        sentences.map((s) => s.tags),
        predictedTags,
      );
      await writeFile(p.values['write-predictions'], lines.join('\n') + '\n');
    }
    if (p.values.json) {
      process.stdout.write(JSON.stringify({ model: { id: manifest.modelId, version: manifest.modelVersion, dir }, data, sentences: sentences.length, scores }) + '\n');
    } else {
      process.stdout.write(`model ${manifest.modelId} ${manifest.modelVersion} on ${data} (${sentences.length} sentences)\n${formatScores(scores)}\n`);
    }
  } finally {
    model.dispose();
  }
  return 0;
}

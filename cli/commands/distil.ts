/** `mentionflow distil`: a teacher model (e.g. an ensemble) labels unlabelled text; silver CoNLL out, for `train-joint --silver` (pipeline/train/distil.ts). */
import { dirname, resolve } from 'node:path';
import { useBackend, type BackendChoice } from '../../models/backend.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { writeSilver } from '../../pipeline/train/distil.js';
import { readTextSource } from '../../pipeline/train/sources/openSource.js';
import { SOURCE_SYNTAX_HELP } from '../../pipeline/train/sources/sourceSpec.js';
import { BACKEND_OPTION, checkPath, numberOption, requireFile, requireString, type CommandSpec, type Parsed } from '../args.js';
import { checkSourceOption, sourceKafka } from '../sourceOption.js';

export const spec: CommandSpec = {
  name: 'distil',
  summary: 'label unlabelled text with a teacher model (e.g. an ensemble of seeds): silver NER sentences (CoNLL) to train a single student on (train-joint --silver)',
  usage: 'mentionflow distil --teacher DIR [--nominal-teacher DIR] --text SOURCE [--text SOURCE]... --out FILE [--batch-size N]',
  options: {
    teacher: { type: 'string', arg: 'DIR', description: 'teacher model artifact (an ensemble from `mentionflow ensemble`, or any model); its decoding bias applies' },
    'nominal-teacher': { type: 'string', arg: 'DIR', description: 'a second teacher for the nominal mentions (TYPE.NOM): the silver holds --teacher\'s named spans and this one\'s nominal spans (one of them overlapping a named span is left out), e.g. a teacher of another annotation standard of the same labels' },
    text: { type: 'string', arg: 'SOURCE', multiple: true, description: 'unlabelled text, repeatable: text:FILE (a sentence a line), seg:FILE (segmented sentences, spaces dropped, e.g. the NLPCC 2016 train file), conll:FILE, an archive of posts (DIR, GLOB, FILE.avro, ?from=&to= hours), kafka:TOPIC of posts. Never dev or test text' },
    out: { type: 'string', arg: 'FILE', description: 'silver CoNLL file to write ("<char>\\t<tag>" lines in the teacher\'s scheme, a blank line between sentences)' },
    'batch-size': { type: 'string', arg: 'N', description: 'rows per forward pass (short sentences share a row)', default: '64' },
    backend: BACKEND_OPTION,
    quiet: { type: 'boolean', description: 'no progress lines' },
  },
  notes: [
    'Sequence-level knowledge distillation (Kim & Rush 2016): the teacher\'s Viterbi tags of each sentence become its training labels.',
    'Texts longer than the teacher\'s maxLength are written in pieces of that length. The file is written once and read by every student seed:',
    '  mentionflow ensemble --members S1,S2,S3 --out ens',
    '  mentionflow distil --teacher ens --text seg:nlpcc2016-word-seg-train.dat --out silver.conll',
    '  mentionflow train-joint --ner-train train.conll --ner-dev dev.conll --seg-train ... --seg-dev ... --silver silver.conll --silver-ratio 1 --config CFG --out student',
    'With --nominal-teacher, named mentions come from --teacher and nominal ones from the second teacher: WeiboNER v1 students learnt more from the v2 teacher\'s named and the v1 teacher\'s nominal mentions than from either teacher alone (README, "Recall-leaning training").',
    'train-joint mixes a fresh subsample of silver-ratio x the gold set\'s size of silver sentences into every epoch; dev and model selection stay on gold.',
    '',
    SOURCE_SYNTAX_HELP,
    'For --text a plain FILE is read as text (a sentence a line).',
  ].join('\n'),
};

export async function run(p: Parsed): Promise<number> {
  const teacherDir = requireFile(p, 'teacher', spec.name, 'dir');
  const nominalDir = p.values['nominal-teacher'] === undefined ? undefined : requireFile(p, 'nominal-teacher', spec.name, 'dir');
  const text = (p.values.text as string[] | undefined) ?? [];
  if (text.length === 0) requireString(p, 'text', spec.name);
  for (const source of text) await checkSourceOption(source, '--text', 'text');
  const out = requireString(p, 'out', spec.name);
  checkPath(dirname(resolve(out)), `folder of --out ${out}:`, 'dir');
  const batchSize = numberOption(p, 'batch-size', { integer: true, min: 1, max: 4096 }) ?? 64;
  const quiet = p.values.quiet === true;
  const backend = await useBackend(p.values.backend as BackendChoice);
  if (!quiet) process.stderr.write(`backend: ${backend}\n`);
  const texts: string[][] = [];
  for (const source of text) texts.push(...(await readTextSource(source, { where: '--text', fingerprintRole: 'text', kafka: sourceKafka() })).sentences);
  const { model, manifest } = await TaggerModel.load(teacherDir);
  let nominal: Awaited<ReturnType<typeof TaggerModel.load>> | undefined;
  try {
    if (nominalDir !== undefined) nominal = await TaggerModel.load(nominalDir);
    const members = (m: TaggerModel) => (m.ensemble ? `, ${m.ensemble.length} members` : '');
    if (!quiet) {
      const second = nominal === undefined ? '' : ` (nominal mentions: ${nominal.manifest.modelId} ${nominal.manifest.modelVersion}${members(nominal.model)})`;
      process.stderr.write(`teacher ${manifest.modelId} ${manifest.modelVersion}${members(model)}${second}: labelling ${texts.length} texts\n`);
    }
    const started = Date.now();
    const stats = await writeSilver(model, {
      texts,
      out,
      batchSize,
      nominalTeacher: nominal?.model,
      onProgress: quiet
        ? undefined
        : (done, total, chars) => process.stderr.write(`labelled ${done} / ${total} texts, ${chars} characters, ${Math.round(chars / Math.max(0.001, (Date.now() - started) / 1000))} characters/s\n`),
    });
    const mentions = Object.entries(stats.mentions).sort(([a], [b]) => a.localeCompare(b));
    const total = mentions.reduce((a, [, n]) => a + n, 0);
    process.stdout.write(
      `wrote ${out}: ${stats.sentences} sentences (${stats.texts} texts, ${stats.chars} characters), ${total} mentions (${mentions.map(([l, n]) => `${l} ${n}`).join(', ')}), ` +
        `teacher ${manifest.modelId} ${manifest.modelVersion}` +
        (nominal === undefined ? '' : `, nominal mentions from ${nominal.manifest.modelId} ${nominal.manifest.modelVersion} (${stats.nominalOverlaps} overlapping a named one left out)`) +
        `, ${stats.seconds.toFixed(1)} s (${Math.round(stats.chars / Math.max(0.001, stats.seconds))} characters/s)\n`,
    );
  } finally {
    model.dispose();
    nominal?.model.dispose();
  }
  return 0;
}

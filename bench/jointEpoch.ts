/**
 * Seconds per epoch of joint training in the paper's row 11 configuration
 * (shared embeddings + BiLSTM, NER emissions from hidden vectors,
 * embeddings and sparse features, BIES segmentation head, alternating with a
 * subsample of the NLPCC corpus the size of the NER training set), on
 * WeiboNER v2: a fixed number of epochs, JSON on stdout.
 *
 *   node dist/bench/jointEpoch.js [--epochs 2] [--corpora DIR]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corporaDir } from '../cli/defaults.js';
import { useBackend } from '../models/backend.js';
import { loadNerCorpus, loadSegCorpus } from '../pipeline/train/experiments/corpora.js';
import { TABLE1_ROWS } from '../pipeline/train/experiments/table1Rows.js';
import { resolveTrainOptions } from '../pipeline/train/options.js';
import { trainTagger } from '../pipeline/train/trainTagger.js';
import { benchArgs } from './args.js';

const values = benchArgs(import.meta.url, { epochs: { type: 'string', default: '2' }, corpora: { type: 'string', default: corporaDir() } });
const backend = await useBackend('native');
const epochs = Number(values.epochs);
const [ner, seg] = await Promise.all([loadNerCorpus(values.corpora!, 'v2'), loadSegCorpus(values.corpora!)]);
const row11 = TABLE1_ROWS.find((r) => r.id === '11')!;
const out = await mkdtemp(join(tmpdir(), 'mf-joint-epoch-'));
const r = await trainTagger({
  ner: { train: ner.train, dev: ner.dev },
  seg: { train: seg.train, dev: seg.dev, mode: 'joint' },
  options: resolveTrainOptions({ ...row11.options, epochs, earlyStopPatience: 1000 }),
  outDir: out,
  modelId: 'bench-joint',
  data: [],
  quiet: true,
  log: () => {},
});
r.model.dispose();
await rm(out, { recursive: true, force: true });
const secs = r.history.map((h) => h.seconds);
process.stdout.write(JSON.stringify({ backend, epochs, secondsPerEpoch: secs, thirtyEpochMinutes: (30 * secs.reduce((a, b) => a + b, 0)) / secs.length / 60 }) + '\n');

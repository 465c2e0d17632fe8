/**
 * The corpora an experiment reads, located under one folder (by default
 * ../shared/corpora), loaded once and shared by every row and seed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../../common/errors.js';
import { readConll, type NerSentence } from '../../../models/data/conll.js';
import { readSegmented, readWordList, type SegSentence } from '../../../models/data/segmentation.js';
import type { DataFingerprint } from '../../../models/artifact/manifest.js';
import { fingerprint } from '../fingerprint.js';

export type DatasetVersion = 'v1' | 'v2';

export const CORPUS_FILES = {
  v1: { train: 'weiboNER/weiboNER.conll.train', dev: 'weiboNER/weiboNER.conll.dev' },
  v2: { train: 'weiboNER/weiboNER_2nd_conll.train', dev: 'weiboNER/weiboNER_2nd_conll.dev' },
  seg: { train: 'nlpcc2016-weibo-cws/nlpcc2016-word-seg-train.dat', dev: 'nlpcc2016-weibo-cws/nlpcc2016-wordseg-dev.dat' },
} as const;

export interface NerCorpus {
  train: NerSentence[];
  dev: NerSentence[];
  data: DataFingerprint[];
}

export interface SegCorpus {
  train: SegSentence[];
  dev: SegSentence[];
  /** Words of the segmentation training set, for OOV recall. */
  trainWords: Set<string>;
  data: DataFingerprint[];
}

function path(dir: string, rel: string): string {
  const p = join(dir, rel);
  if (!existsSync(p)) throw new ConfigError(`corpus file ${p} not found; point --corpora (or MENTIONFLOW_CORPORA) at the folder holding ${rel}`);
  return p;
}

export async function loadNerCorpus(dir: string, version: DatasetVersion): Promise<NerCorpus> {
  const f = CORPUS_FILES[version];
  const [train, dev] = await Promise.all([readConll(path(dir, f.train)), readConll(path(dir, f.dev))]);
  return {
    train,
    dev,
    data: [await fingerprint('ner-train', path(dir, f.train), train.length), await fingerprint('ner-dev', path(dir, f.dev), dev.length)],
  };
}

export async function loadSegCorpus(dir: string): Promise<SegCorpus> {
  const f = CORPUS_FILES.seg;
  const [train, dev] = await Promise.all([readSegmented(path(dir, f.train)), readSegmented(path(dir, f.dev))]);
  const trainWords = new Set(train.flatMap((s) => s.words));
  return {
    train,
    dev,
    trainWords,
    data: [await fingerprint('seg-train', path(dir, f.train), train.length), await fingerprint('seg-dev', path(dir, f.dev), dev.length)],
  };
}

export { readWordList };

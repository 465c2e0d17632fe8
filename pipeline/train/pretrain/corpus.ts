/**
 * The unlabelled Weibo text embeddings are pre-trained on, all of it at
 * hand here (the paper used 112M messages, which are not available):
 *   - NLPCC 2016 Weibo segmentation train and dev, with the word-separating
 *     spaces removed (readSegmented's characters);
 *   - NLPCC 2016 test input, raw unsegmented lines (whitespace dropped, as in
 *     the segmented files);
 *   - the WeiboNER v2 training messages (v1 holds the same messages), labels
 *     ignored. No dev or test messages.
 * About 1.2M characters in 31,600 sentences.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../../../common/errors.js';
import { readConll } from '../../../models/data/conll.js';
import { readSegmented } from '../../../models/data/segmentation.js';
import { toCodePoints } from '../../../models/text/codepoints.js';
import { fingerprint } from '../fingerprint.js';
import type { EmbeddingsMeta } from './embeddingsFile.js';

/** Files under the corpora folder, by how they are read. */
export const PRETRAIN_FILES = {
  segmented: ['nlpcc2016-weibo-cws/nlpcc2016-word-seg-train.dat', 'nlpcc2016-weibo-cws/nlpcc2016-wordseg-dev.dat'],
  raw: ['nlpcc2016-weibo-cws/nlpcc2016-wordseg-test.dat'],
  conll: ['weiboNER/weiboNER_2nd_conll.train'],
} as const;

export interface UnlabeledCorpus {
  /** Sentences as code points. */
  sentences: string[][];
  sources: NonNullable<EmbeddingsMeta['corpus']>;
}

/** Code points of each non-blank line, whitespace removed. */
export function rawLines(text: string): string[][] {
  return text
    .split(/\r?\n/)
    .map((line) => toCodePoints(line).filter((c) => !/^\s$/u.test(c)))
    .filter((chars) => chars.length > 0);
}

/** Reads the unlabelled text of PRETRAIN_FILES under `dir`. */
export async function loadUnlabeledCorpus(dir: string): Promise<UnlabeledCorpus> {
  const path = (rel: string) => {
    const p = join(dir, rel);
    if (!existsSync(p)) throw new ConfigError(`corpus file ${p} not found; point --corpora (or MENTIONFLOW_CORPORA) at the folder holding ${rel}`);
    return p;
  };
  const parts: { file: string; sentences: string[][] }[] = [];
  for (const rel of PRETRAIN_FILES.segmented) parts.push({ file: path(rel), sentences: (await readSegmented(path(rel))).map((s) => s.chars) });
  for (const rel of PRETRAIN_FILES.raw) parts.push({ file: path(rel), sentences: rawLines(await readFile(path(rel), 'utf8')) });
  for (const rel of PRETRAIN_FILES.conll) parts.push({ file: path(rel), sentences: (await readConll(path(rel))).map((s) => s.chars).filter((c) => c.length > 0) });
  const sources = await Promise.all(parts.map((p) => fingerprint('unlabeled', p.file, p.sentences.length)));
  return { sentences: parts.flatMap((p) => p.sentences), sources: sources.map(({ file, sha256, sentences }) => ({ file, sha256, sentences })) };
}

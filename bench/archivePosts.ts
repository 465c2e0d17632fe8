/**
 * The Post records of the archive benchmarks (bench/archive.ts, bench/postCheck.ts):
 * v2 posts, ~120 bytes, event times over 6 hours; their texts are three sentences
 * repeated (which deflate packs 10:1) or, from a file, its non-empty lines in turn
 * with whitespace removed (e.g. a segmented Weibo corpus: real text, which deflate
 * packs about 2:1).
 */
import { readFileSync } from 'node:fs';
import { encodeStrict, loadSchema } from '../schemas/registry.js';

const DEFAULT_TEXTS = ['今天在北京见到了马云，他说阿里巴巴明年还要招人。', '上海下雨了😀小王约我明天去外滩散步', '那位老板昨天在深圳开了发布会，腾讯的人也来了'];

/** The texts of the posts: the default three, or the non-empty lines of `file`, whitespace removed. */
export function benchTexts(file?: string): string[] {
  if (file === undefined) return DEFAULT_TEXTS;
  const texts = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.replace(/\s+/g, ''))
    .filter((line) => line !== '');
  if (texts.length === 0) throw new Error(`--text ${file}: no non-empty line`);
  return texts;
}

const BASE = Date.UTC(2024, 4, 1, 8);

/** Post number `j` (key and Avro value, latest schema) over `texts`. */
export function benchPost(j: number, texts: readonly string[]): { key: string; value: Buffer } {
  const post = { id: `b${j}`, text: `${texts[j % texts.length]} #${j}`, author_id: `u${j % 97}`, created_at: BASE + (j % 6) * 3_600_000 + j, source: 'weibo', lang: null, reply_to: null, attributes: {}, topic_tags: [], geo: null };
  return { key: post.id, value: encodeStrict(loadSchema('post'), post) };
}

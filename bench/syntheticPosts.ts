/**
 * Synthetic input for the pipeline benchmark: the sample posts
 * (schemas/post/samples/posts.ndjson; or, with MENTIONFLOW_BENCH_TEXTS, the
 * sentences of a CoNLL file as their texts) cycled, each copy with a unique id and
 * a chosen created_at, Avro-encoded with the latest Post schema (raw wire,
 * keyed by the post id, as `mentionflow produce` writes them). The templates
 * are checked once with encodeStrict; the copies differ only in id and
 * created_at, so they are encoded with the plain avsc encoder.
 * writePostsFile writes posts as the embedded file mode's input.
 */
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import avro from 'avsc';
import { projectRoot } from '../cli/defaults.js';
import { parseConll } from '../models/data/conll.js';
import { encodeStrict, loadSchema } from '../schemas/registry.js';
import type { Post } from '../schemas/types.generated.js';

export interface SyntheticPost {
  key: string;
  value: Buffer;
  /** Code points of the post text. */
  chars: number;
}

/** The sample posts, parsed. */
export function samplePosts(): Post[] {
  const file = join(projectRoot(), 'schemas', 'post', 'samples', 'posts.ndjson');
  const samples = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Post);
  const texts = process.env[BENCH_TEXTS_ENV];
  if (texts === undefined || texts === '') return samples;
  // Real-length posts: the sentences of a CoNLL file as texts, the sample posts' other fields cycled.
  const sentences = parseConll(readFileSync(texts), texts)
    .map((s) => s.chars.join(''))
    .filter((t) => t.length > 0);
  if (sentences.length === 0) throw new Error(`${BENCH_TEXTS_ENV}=${texts}: no sentences in that CoNLL file`);
  return sentences.map((text, i) => ({ ...samples[i % samples.length], text }));
}

/**
 * Environment variable naming a CoNLL file (e.g. WeiboNER's dev split) whose
 * sentences the benches' posts carry instead of the sample posts' texts
 * (set by bench/pipeline.js and bench/limitsPipeline.js --texts FILE, and
 * inherited by their child processes).
 */
export const BENCH_TEXTS_ENV = 'MENTIONFLOW_BENCH_TEXTS';

/**
 * A bench's --texts FILE: checks the file is there (else a one-line message
 * and exit 2) and sets BENCH_TEXTS_ENV to its absolute path for samplePosts,
 * in this process and in every child it starts. Returns that path, or
 * undefined without --texts.
 */
export function useBenchTexts(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  const path = resolve(file);
  if (!existsSync(path)) {
    process.stderr.write(`--texts ${file}: no such file (a CoNLL file, e.g. ../shared/corpora/weiboNER/weiboNER_2nd_conll.dev)\n`);
    process.exit(2);
  }
  process.env[BENCH_TEXTS_ENV] = path;
  return path;
}

/** Returns `make(i, createdAt)`: the i-th synthetic post, its id `${prefix}${i}`. */
export function postFactory(prefix: string): (i: number, createdAt: number) => SyntheticPost {
  const type = loadSchema('post');
  const templates = samplePosts();
  if (templates.length === 0) throw new Error('no sample posts in schemas/post/samples/posts.ndjson');
  for (const t of templates) encodeStrict(type, { ...t, id: `${prefix}0`, created_at: 0 });
  const chars = templates.map((t) => [...t.text].length);
  return (i, createdAt) => {
    const t = templates[i % templates.length];
    const id = `${prefix}${i}`;
    return { key: id, value: type.toBuffer({ ...t, id, created_at: Math.round(createdAt) }), chars: chars[i % templates.length] };
  };
}

/** Writes `posts` to `file` as an Avro object container file (latest Post schema): input for the embedded file mode. */
export async function writePostsFile(file: string, posts: Iterable<Post>): Promise<void> {
  const encoder = avro.createFileEncoder(file, loadSchema('post'));
  for (const post of posts) encoder.write(post);
  encoder.end();
  await once(encoder, 'finish');
  await new Promise((r) => setTimeout(r, 100)); // the file stream flushes after the encoder
}

/**
 * Writes an archive-layout directory of Post containers from text at hand,
 * so the training path from an archived post stream can be exercised without
 * a production stream (the embeddings figure of README "Training sources").
 * The layout is the one `mentionflow archive --follow` writes:
 *   DIR/<topic>/date=YYYY-MM-DD/hour=HH/<topic>+<partition>+<first>-<last>.avro
 * (offsets zero-padded to 19 digits; deflate; temporary name, fsync, rename).
 * Each line/sentence of the sources becomes one Post (schemas/post, latest)
 * with id "<topic>-<offset>", created_at spread from --start at
 * --per-hour posts an hour, all in partition 0.
 *
 * Usage: node dist/bench/postArchiveFromText.js --dir DIR --text SOURCE [--text SOURCE ...]
 *          [--topic posts] [--start 2026-12-01T00:00Z] [--per-hour 4000] [--per-file 2000]
 * SOURCE is any example source (README "Training sources"); a plain file is read as text.
 * Never commit the output when the text comes from ../shared/corpora.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import path from 'node:path';
import avro from 'avsc';
import { readTextSource } from '../pipeline/train/sources/openSource.js';
import { loadSchemaJson } from '../schemas/registry.js';
import type { Post } from '../schemas/types.generated.js';
import { benchArgs } from './args.js';

const args = benchArgs(import.meta.url, {
  dir: { type: 'string' },
  text: { type: 'string', multiple: true },
  topic: { type: 'string', default: 'posts' },
  start: { type: 'string', default: '2026-12-01T00:00Z' },
  'per-hour': { type: 'string', default: '4000' },
  'per-file': { type: 'string', default: '2000' },
});
if (args.dir === undefined || args.text === undefined) {
  process.stderr.write('--dir and --text are required (run with --help)\n');
  process.exit(2);
}
const topic = args.topic!;
const start = Date.parse(args.start!);
const perHour = Number(args['per-hour']);
const perFile = Number(args['per-file']);
const HOUR = 3_600_000;

const texts: string[] = [];
for (const spec of args.text) texts.push(...(await readTextSource(spec, { where: '--text', fingerprintRole: 'unlabeled' })).sentences.map((c) => c.join('')));

const type = avro.Type.forSchema(loadSchemaJson('post') as never, { wrapUnions: 'never' });
const pad = (n: number): string => String(n).padStart(19, '0');

async function writeFile(first: number, posts: Post[]): Promise<string> {
  const t = new Date(posts[0].created_at).toISOString();
  const dir = path.join(args.dir!, topic, `date=${t.slice(0, 10)}`, `hour=${t.slice(11, 13)}`);
  await mkdir(dir, { recursive: true });
  const final = path.join(dir, `${topic}+0+${pad(first)}-${pad(first + posts.length - 1)}.avro`);
  const temp = `${final}.tmp`;
  const encoder = new avro.streams.BlockEncoder(type, { codec: 'deflate' });
  const out = encoder.pipe(createWriteStream(temp));
  for (const p of posts) encoder.write(p);
  encoder.end();
  await once(out, 'finish');
  const fh = await open(temp, 'r+');
  await fh.sync();
  await fh.close();
  await rename(temp, final);
  return final;
}

let files = 0;
let batch: Post[] = [];
let first = 0;
for (let offset = 0; offset < texts.length; offset++) {
  const createdAt = start + Math.floor(offset / perHour) * HOUR + Math.floor(((offset % perHour) * HOUR) / perHour);
  const post: Post = { id: `${topic}-${offset}`, text: texts[offset], author_id: 'archive-from-text', created_at: createdAt, source: 'weibo', lang: null, reply_to: null, attributes: {}, topic_tags: [], geo: null };
  // A file never spans two hours, as the archive sink rolls at the hour boundary.
  if (batch.length > 0 && (batch.length >= perFile || Math.floor((createdAt - start) / HOUR) !== Math.floor((batch[0].created_at - start) / HOUR))) {
    await writeFile(first, batch);
    files++;
    batch = [];
  }
  if (batch.length === 0) first = offset;
  batch.push(post);
}
if (batch.length > 0) {
  await writeFile(first, batch);
  files++;
}
process.stdout.write(`${texts.length} posts in ${files} files under ${path.join(args.dir, topic)} (hours from ${new Date(start).toISOString().slice(0, 13)})\n`);

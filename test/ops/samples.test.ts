// The hand-written sample posts (schemas/post/samples/posts.ndjson) that `mentionflow produce`
// loads into a topic: every line a valid Post of the latest schema, round-tripping through Avro.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readPostsFile } from '../../cli/commands/produce.js';
import { decodeStrict, encodeStrict, latestVersion, loadSchema, schemasDir, validate } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';

const FILE = path.join(schemasDir(), 'post', 'samples', 'posts.ndjson');
const lines = readFileSync(FILE, 'utf8').split('\n').filter((l) => l.trim() !== '');
const posts = lines.map((l) => JSON.parse(l) as Post);
const type = loadSchema('post');

describe('sample posts (posts.ndjson)', () => {
  it('holds about 40 posts, one JSON object per line', () => {
    assert.ok(posts.length >= 35 && posts.length <= 50, `${posts.length} posts`);
    assert.ok(readFileSync(FILE, 'utf8').endsWith('\n'));
  });

  it(`every post is valid against the latest Post schema (v${latestVersion('post')})`, () => {
    posts.forEach((post, i) => assert.deepEqual(validate(type, post), [], `line ${i + 1}`));
  });

  it('every post round-trips through Avro binary unchanged, with every field present', () => {
    for (const post of posts) {
      const decoded = decodeStrict<Post>(type, encodeStrict(type, post));
      assert.deepEqual({ ...decoded, geo: decoded.geo && { ...decoded.geo } }, post);
    }
  });

  it('readPostsFile (the produce command loader) reads the same posts', async () => {
    const read = await readPostsFile(FILE);
    assert.equal(read.length, posts.length);
    assert.deepEqual(
      read.map((p) => p.id),
      posts.map((p) => p.id),
    );
  });

  it('ids are unique, sources weibo, timestamps plausible epoch ms, replies point at posts in the file', () => {
    const ids = new Set(posts.map((p) => p.id));
    assert.equal(ids.size, posts.length);
    for (const p of posts) {
      assert.match(p.id, /^[0-9]+$/);
      assert.equal(p.source, 'weibo');
      assert.ok(Number.isInteger(p.created_at) && p.created_at > Date.UTC(2020, 0) && p.created_at < Date.UTC(2030, 0), p.id);
      if (p.reply_to !== null) assert.ok(ids.has(p.reply_to), `${p.id} replies to unknown ${p.reply_to}`);
      for (const tag of p.topic_tags) assert.ok(p.text.includes(`#${tag}#`), `${p.id}: #${tag}# not in text`);
    }
    assert.ok(posts.some((p) => p.reply_to !== null), 'at least one reply');
    assert.ok(posts.some((p) => p.geo !== null), 'at least one post with geo');
  });

  it('includes emoji outside the BMP and full-width ASCII characters', () => {
    const astral = posts.filter((p) => [...p.text].length !== p.text.length);
    assert.ok(astral.length >= 1, 'a post with an emoji (2 UTF-16 units, 1 code point)');
    const fullWidth = posts.filter((p) => /[\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A]/u.test(p.text));
    assert.ok(fullWidth.length >= 1, 'a post with full-width letters or digits');
  });

  it('mentions named and nominal entities of every type', () => {
    const text = posts.map((p) => p.text).join('\n');
    for (const word of ['张伟', '清华大学', '华为', '北京', '上海', '日本', '西湖', '长江']) assert.ok(text.includes(word), word);
    for (const word of ['老师', '公司', '学校', '医院', '老板', '医生']) assert.ok(text.includes(word), word);
  });
});

/**
 * The public API's own pieces (api/): plain posts into items and records,
 * the callback sink, mentionStream's option checks, loadTagger's option
 * checks; with a fake tagger that finds every "北京", so no model is loaded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import { callbackSink, ConfigError, loadTagger, mentionStream, postItems, postSource, type PostInput, type Tagger } from '../../index.js';
import { fakeTagger } from './fakeTagger.js';
import type { DeadLetter, PostMentions } from '../../schemas/types.generated.js';


const post = (id: string, text: string): PostInput => ({ id, text, author_id: 'u', created_at: 1, source: 'weibo' });

test('postItems: one item per post, defaults filled in, an invalid post a failed item naming the field', async () => {
  const bad = { id: '3', text: 'x', created_at: 1, source: 'weibo' } as unknown as PostInput;
  const items = await lastValueFrom(from([post('1', 'a'), post('2', 'b'), bad]).pipe(postItems({ topic: 'mine' }), toArray()));
  assert.deepEqual(items.map((i) => i.kind), ['ok', 'ok', 'failed']);
  assert.deepEqual(items.map((i) => [i.ref.topic, i.ref.offset]), [['mine', '0'], ['mine', '1'], ['mine', '2']]);
  const first = items[0];
  assert.ok(first.kind === 'ok');
  assert.equal(first.value.lang, null);
  assert.deepEqual(first.value.topic_tags, []);
  const failed = items[2];
  assert.ok(failed.kind === 'failed');
  assert.equal(failed.stage, 'decode');
  assert.match(failed.error.message, /author_id/);
});

test('postItems numbers the posts of each subscription from 0', async () => {
  const op = from([post('1', 'a'), post('2', 'b')]).pipe(postItems());
  const offsets = async () => (await lastValueFrom(op.pipe(toArray()))).map((i) => i.ref.offset);
  assert.deepEqual(await offsets(), ['0', '1']);
  assert.deepEqual(await offsets(), ['0', '1']);
});

test('postItems and postSource reject bad options at construction', () => {
  assert.throws(() => postItems({ topic: '' }), ConfigError);
  assert.throws(() => postSource([], { topic: 7 as unknown as string }), ConfigError);
});

test('mentionStream from postSource to callbackSink: one record per post, dead letters for invalid ones, in order', async () => {
  const mentions: PostMentions[] = [];
  const deadLetters: DeadLetter[] = [];
  const bad = { ...post('', 'x') };
  const groups = await lastValueFrom(
    mentionStream({
      source: postSource([post('1', '我在北京'), bad, post('3', '上海')]),
      sink: callbackSink({ mentions: (r) => void mentions.push(r), deadLetters: async (r) => void deadLetters.push(r) }),
      tagger: fakeTagger,
      settings: { batchMaxWaitMs: 1 },
    }).pipe(toArray()),
  );
  assert.equal(groups.flat().length, 3);
  assert.deepEqual(mentions.map((m) => m.post_id), ['1', '3']);
  assert.deepEqual(mentions[0].mentions.map((m) => [m.text, m.start, m.end]), [['北京', 2, 4]]);
  assert.equal(mentions[0].model.id, 'fake');
  assert.equal(deadLetters.length, 1);
  assert.equal(deadLetters[0].stage, 'decode');
  assert.equal(deadLetters[0].source_offset, 1);
});

test('postSource.stop() ends the input', async () => {
  const posts = new Subject<PostInput>();
  const source = postSource(posts);
  const seen: string[] = [];
  const done = lastValueFrom(source.records().pipe(toArray()));
  posts.next(post('1', 'a'));
  source.stop();
  posts.next(post('2', 'b'));
  for (const r of await done) seen.push(r.ref.offset);
  assert.deepEqual(seen, ['0']);
});

test('a callbackSink handler that throws ends the stream with its error', async () => {
  const boom = new Error('handler failed');
  const stream = mentionStream({
    source: postSource([post('1', 'a')]),
    sink: callbackSink({
      mentions: () => {
        throw boom;
      },
    }),
    tagger: fakeTagger,
  });
  await assert.rejects(lastValueFrom(stream), (err) => err === boom);
});

test('mentionStream checks its options when called, before anything runs', () => {
  const base = { source: postSource([]), sink: callbackSink({}), tagger: fakeTagger };
  assert.throws(() => mentionStream({ ...base, settings: { batchMaxCount: 0 } }), /batchItems: maxCount/);
  assert.throws(() => mentionStream({ ...base, settings: { batchSize: 3 } as never }), /unknown setting batchSize/);
  assert.throws(() => mentionStream({ ...base, settings: { batchMode: 'greedy' as never } }), /batchMode/);
  assert.throws(() => mentionStream({ ...base, settings: { inputWire: 'xml' as never } }), /wire/);
  assert.throws(() => mentionStream({ ...base, tagger: {} as Tagger }), /tagger must be a Tagger/);
  assert.throws(() => callbackSink({ mentions: 'print' as never }), /mentions must be a function/);
});

test('loadTagger: bad options and a missing model are one clear error each', async () => {
  await assert.rejects(loadTagger({ backend: 'gpu' as never }), (err) => err instanceof ConfigError && /backend must be one of/.test(err.message));
  await assert.rejects(loadTagger({ model: '' }), (err) => err instanceof ConfigError && /model must be a directory/.test(err.message));
  await assert.rejects(loadTagger({ model: '/nonexistent/model', backend: 'cpu' }), (err: Error) => err.name === 'ModelArtifactError' && err.message.includes('/nonexistent/model'));
});

// tagBatch: one tagger call per batch, failed items in place, one-by-one
// retry after a failed batch call. The tagger is asynchronous (promises), so
// these specs run on real time with lastValueFrom rather than marbles.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY, NEVER, Subject, concat, from, lastValueFrom, of, throwError, toArray } from 'rxjs';
import { ConfigError, TaggingError } from '../../common/errors.js';
import type { Mention } from '../../models/tagger.js';
import { tagBatch } from '../../operators/tagBatch.js';
import type { Item, TaggedPost } from '../../operators/types.js';
import type { Post } from '../../schemas/types.generated.js';
import { FakeTagger, POSTS, failedItem, lookup, okItem, settle, summarize } from './helpers.js';

/** A clock that advances 3 ms per reading. */
function steppingClock(): () => number {
  let t = 0;
  return () => (t += 3);
}

function run(batches: Item<Post>[][], tagger: FakeTagger, now = steppingClock()): Promise<Item<TaggedPost>[][]> {
  return lastValueFrom(from(batches).pipe(tagBatch({ tagger, now }), toArray()));
}

const bj = okItem(0, POSTS.beijing);
const sh = okItem(1, POSTS.shanghai);
const sz = okItem(2, POSTS.shenzhen);
const bad = failedItem(3);
const poisoned = okItem(4, { ...POSTS.plain, id: 'p-poison', text: '这条帖子有毒☠让标注器崩溃' });

describe('tagBatch', () => {
  it('never: emits nothing and calls no tagger', async () => {
    const tagger = new FakeTagger();
    const seen: unknown[] = [];
    const sub = NEVER.pipe(tagBatch({ tagger })).subscribe({ next: (v) => seen.push(v), complete: () => seen.push('done') });
    await settle();
    assert.equal(sub.closed, false);
    sub.unsubscribe();
    assert.deepStrictEqual(seen, []);
    assert.equal(tagger.calls.length, 0);
  });

  it('empty: completes at once', async () => {
    const tagger = new FakeTagger();
    assert.deepStrictEqual(await lastValueFrom(EMPTY.pipe(tagBatch({ tagger }), toArray())), []);
    assert.equal(tagger.calls.length, 0);
  });

  it('one value: one tagger call, failed items pass through in place', async () => {
    const tagger = new FakeTagger();
    const [out] = await run([[bj, bad, sh]], tagger);
    assert.deepStrictEqual(tagger.calls, [[POSTS.beijing.text, POSTS.shanghai.text]]);
    assert.equal(out.length, 3);
    assert.equal(out[1], bad, 'the failed item is passed through untouched');
    assert.deepStrictEqual(out[0], { ...bj, value: { post: POSTS.beijing, mentions: lookup(POSTS.beijing.text), tagMs: 3 } });
    assert.deepStrictEqual(out[2], { ...sh, value: { post: POSTS.shanghai, mentions: lookup(POSTS.shanghai.text), tagMs: 3 } });
    // Sanity check on the fake: code points vs UTF-16 after the emoji.
    const waitan = (out[2] as { value: TaggedPost }).value.mentions.find((m) => m.text === '外滩') as Mention;
    assert.equal(POSTS.shanghai.text.slice(waitan.startUtf16, waitan.endUtf16), '外滩');
    assert.equal(waitan.endUtf16 - waitan.end, 1);
  });

  it('one value: a batch of only failed items needs no tagger call', async () => {
    const tagger = new FakeTagger();
    assert.deepStrictEqual(await run([[bad]], tagger), [[bad]]);
    assert.equal(tagger.calls.length, 0);
  });

  it('many values: batches in order, one at a time', async () => {
    const tagger = new FakeTagger({ delayMs: 2 });
    const out = await run([[bj], [sh, bad], [sz]], tagger);
    assert.deepStrictEqual(out.map((batch) => batch.map(summarize)), [
      ['0:ok:p-bj'],
      ['1:ok:p-sh', '3:failed:decode:DecodeError'],
      ['2:ok:p-sz'],
    ]);
    assert.equal(tagger.calls.length, 3);
    assert.equal(tagger.maxInFlight, 1, 'concatMap: never two tagger calls at once');
  });

  it('a failed batch call is retried post by post; only the bad post fails', async () => {
    const tagger = new FakeTagger({ poison: '☠' });
    const [out] = await run([[bj, poisoned, bad, sz]], tagger);
    assert.deepStrictEqual(tagger.calls, [
      [POSTS.beijing.text, poisoned.value.text, POSTS.shenzhen.text],
      [POSTS.beijing.text],
      [poisoned.value.text],
      [POSTS.shenzhen.text],
    ]);
    assert.deepStrictEqual(out.map(summarize), ['0:ok:p-bj', '4:failed:tag:TaggingError', '3:failed:decode:DecodeError', '2:ok:p-sz']);
    const failure = out[1];
    assert.ok(failure.kind === 'failed' && failure.error instanceof TaggingError);
    assert.match(failure.error.message, /^tagger failed on post "p-poison": cannot tag text containing ☠/);
    assert.ok(failure.error.cause instanceof Error);
    assert.equal(failure.payload, poisoned.payload);
    assert.equal(failure.ref, poisoned.ref);
    // The retried posts carry the time of their own call.
    assert.equal((out[0] as { value: TaggedPost }).value.tagMs, 3);
  });

  it('a tagger returning the wrong number of results counts as a failed call', async () => {
    const tagger = new FakeTagger({ override: async () => [] });
    const [out] = await run([[bj, sh]], tagger);
    assert.equal(tagger.calls.length, 3);
    assert.deepStrictEqual(out.map(summarize), ['0:failed:tag:TaggingError', '1:failed:tag:TaggingError']);
    assert.match((out[0] as { error: Error }).error.message, /returned 0 result\(s\) for 1 text/);
  });

  it('error: a source error passes through', async () => {
    const tagger = new FakeTagger();
    const err = new Error('上游断开');
    await assert.rejects(lastValueFrom(concat(of([bj]), throwError(() => err)).pipe(tagBatch({ tagger }))), (e) => e === err);
  });

  it('endless source: tags every batch as it comes, never completes', async () => {
    const tagger = new FakeTagger();
    const batches = new Subject<Item<Post>[]>();
    const seen: string[][] = [];
    let completed = false;
    const sub = batches.pipe(tagBatch({ tagger })).subscribe({
      next: (batch) => seen.push(batch.map(summarize)),
      complete: () => (completed = true),
    });
    for (const item of [bj, sh, sz, bj, sh]) {
      batches.next([item]);
      await settle();
    }
    assert.equal(seen.length, 5);
    assert.equal(completed, false);
    sub.unsubscribe();
  });

  it('early unsubscribe: the pending result is dropped and no further calls start', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const tagger = new FakeTagger({
      override: async (texts) => {
        await gate;
        if (texts.length > 1) throw new Error('批量失败'); // force the one-by-one retry
        return texts.map(lookup);
      },
    });
    const seen: unknown[] = [];
    const sub = of([bj, sh, sz], [bj]).pipe(tagBatch({ tagger })).subscribe((v) => seen.push(v));
    await settle();
    assert.equal(tagger.calls.length, 1);
    sub.unsubscribe();
    release();
    await settle();
    assert.deepStrictEqual(seen, []);
    // The batch call failed after the unsubscribe: no one-by-one retries, no next batch.
    assert.equal(tagger.calls.length, 1);
  });

  it('callback throws: a tagger that throws synchronously fails each post, not the stream', async () => {
    const tagger = new FakeTagger();
    tagger.tag = () => {
      throw new RangeError('模型未加载');
    };
    const [out] = await run([[bj, bad, sh]], tagger);
    assert.deepStrictEqual(out.map(summarize), ['0:failed:tag:TaggingError', '3:failed:decode:DecodeError', '1:failed:tag:TaggingError']);
    assert.ok((out[0] as { error: Error }).error.cause instanceof RangeError);
  });

  it('callback throws: a throwing clock is a stream error', async () => {
    const tagger = new FakeTagger();
    const boom = new Error('时钟坏了');
    await assert.rejects(
      lastValueFrom(of([bj]).pipe(tagBatch({ tagger, now: () => { throw boom; } }))),
      (e) => e === boom,
    );
  });

  it('rejects bad options with a ConfigError', () => {
    assert.throws(() => tagBatch({} as never), (e: unknown) => e instanceof ConfigError && /tagger/.test(e.message));
    assert.throws(() => tagBatch({ tagger: {} } as never), (e: unknown) => e instanceof ConfigError && /tagger\.tag must be a function/.test(e.message));
    assert.throws(() => tagBatch({ tagger: new FakeTagger(), now: 5 } as never), (e: unknown) => e instanceof ConfigError && /now must be a function/.test(e.message));
  });
});

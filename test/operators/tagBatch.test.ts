// tagBatch: one tagger call per batch, failed items in place, one-by-one
// retry after a failed batch call. The tagger is asynchronous (promises), so
// the first specs run on real time with lastValueFrom; the concurrency specs
// run marbles on virtual time with a tagger whose calls take virtual ms
// (asyncMarbles.ts lets the promises settle between frames).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY, NEVER, Subject, concat, from, lastValueFrom, map, of, throwError, toArray } from 'rxjs';
import type { Observable } from 'rxjs';
import { ConfigError, TaggingError } from '../../common/errors.js';
import { SwappableTagger } from '../../models/swappableTagger.js';
import type { Mention } from '../../models/tagger.js';
import { tagBatch } from '../../operators/tagBatch.js';
import { taggerSlots } from '../../operators/taggerSlots.js';
import type { Item, TaggedPost } from '../../operators/types.js';
import type { Post } from '../../schemas/types.generated.js';
import { VirtualTagger, runAsyncMarbles } from './asyncMarbles.js';
import { FakeTagger, POSTS, failedItem, lookup, okItem, post, settle, summarize } from './helpers.js';

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
    assert.equal(POSTS.shanghai.text.slice(waitan.start_utf16, waitan.end_utf16), '外滩');
    assert.equal(waitan.end_utf16 - waitan.end, 1);
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

  it('a swappable tagger: each batch is tagged by and names the model leased at its start, retries included', async () => {
    const old = new FakeTagger({ poison: '☠', delayMs: 20 });
    let oldDisposed = false;
    old.dispose = () => (oldDisposed = true);
    const swappable = new SwappableTagger(old, { id: 'fake', version: 'old' });
    const next = new FakeTagger();
    const batches = new Subject<Item<Post>[]>();
    const seen: Item<TaggedPost>[][] = [];
    const done = lastValueFrom(batches.pipe(tagBatch({ tagger: swappable }), toArray())).then((x) => seen.push(...x));
    batches.next([bj, poisoned, sz]); // its batch call fails: retried post by post, all on the old model
    await new Promise((r) => setTimeout(r, 5));
    swappable.swap(next, { id: 'fake', version: 'new' });
    assert.equal(oldDisposed, false, 'the batch in flight holds the old model');
    batches.next([sh]);
    batches.complete();
    await done;
    assert.equal(oldDisposed, true, 'disposed once its batch was done');
    assert.equal(old.calls.length, 4, 'the batch call and three retries, all on the old model');
    assert.deepStrictEqual(next.calls, [[POSTS.shanghai.text]]);
    const versions = seen.map((b) => b.map((i) => (i.kind === 'ok' ? i.value.model?.version : 'failed')));
    assert.deepStrictEqual(versions, [['old', 'failed', 'old'], ['new']]);
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

// Concurrency, on virtual time: the tagger's calls take virtual ms (VirtualTagger)
// and runAsyncMarbles lets their promises settle between frames.
describe('tagBatch with concurrency (virtual time)', () => {
  const A = okItem(10, post('p-a', '北京A'));
  const B = okItem(11, post('p-b', '上海B'));
  const C = okItem(12, post('p-c', '深圳C'));
  const P = okItem(13, post('p-p', '有毒☠P'));
  const BATCHES = { a: [A], b: [B], c: [C], p: [A, P] };
  /** Virtual ms per tagger call, by the last letter of its first text. */
  const durations = (ms: Record<string, number>) => (texts: readonly string[]) => ms[texts[0].slice(-1)] ?? 10;
  const ids = (batch: Item<TaggedPost>[]) => batch.map(summarize).join(' ');
  const show = (op: ReturnType<typeof tagBatch>) => (src: Observable<Item<Post>[]>) => src.pipe(op, map(ids));

  it('default: one batch at a time; the next starts when the one before was emitted', async () => {
    let tagger!: VirtualTagger;
    await runAsyncMarbles(({ ts, cold, expectObservable }) => {
      tagger = new VirtualTagger(ts);
      expectObservable(show(tagBatch({ tagger }))(cold('abc|', BATCHES))).toBe('10ms x 9ms y 9ms (z|)', {
        x: '10:ok:p-a',
        y: '11:ok:p-b',
        z: '12:ok:p-c',
      });
    });
    assert.deepStrictEqual(tagger.calls.map((c) => c.at), [0, 10, 20]);
    assert.equal(tagger.maxInFlight, 1);
  });

  it('concurrency 2: a slow first batch holds back the finished second one, order kept, no third call meanwhile', async () => {
    let tagger!: VirtualTagger;
    await runAsyncMarbles(({ ts, cold, expectObservable }) => {
      tagger = new VirtualTagger(ts, { durationMs: durations({ A: 10, B: 3, C: 4 }) });
      // a: 0-10; b: 1-4, then waits for a; c: starts only at 10, when a and b went out.
      expectObservable(show(tagBatch({ tagger, concurrency: 2 }))(cold('abc|', BATCHES))).toBe('10ms (xy) (z|)', {
        x: '10:ok:p-a',
        y: '11:ok:p-b',
        z: '12:ok:p-c',
      });
    });
    assert.deepStrictEqual(tagger.calls.map((c) => c.at), [0, 1, 10]);
    assert.equal(tagger.maxInFlight, 2);
  });

  it('concurrency 3: three calls at once, results in arrival order', async () => {
    let tagger!: VirtualTagger;
    await runAsyncMarbles(({ ts, cold, expectObservable }) => {
      tagger = new VirtualTagger(ts, { durationMs: durations({ A: 9, B: 3, C: 6 }) });
      expectObservable(show(tagBatch({ tagger, concurrency: 3 }))(cold('abc|', BATCHES))).toBe('9ms (xyz|)', {
        x: '10:ok:p-a',
        y: '11:ok:p-b',
        z: '12:ok:p-c',
      });
    });
    assert.deepStrictEqual(tagger.calls.map((c) => c.at), [0, 1, 2]);
  });

  it('concurrency 2: a batch retried post by post still comes out before the batch after it', async () => {
    let tagger!: VirtualTagger;
    await runAsyncMarbles(({ ts, cold, expectObservable }) => {
      tagger = new VirtualTagger(ts, { poison: '☠', durationMs: durations({ A: 10, P: 10, B: 3 }) });
      // p: the batch call fails at 10, A alone 10-20, P alone 20-30; b is done at 4 and waits.
      expectObservable(show(tagBatch({ tagger, concurrency: 2 }))(cold('pb|', BATCHES))).toBe('30ms (xy|)', {
        x: '10:ok:p-a 13:failed:tag:TaggingError',
        y: '11:ok:p-b',
      });
    });
    assert.deepStrictEqual(
      tagger.calls.map((c) => [c.at, c.texts.length]),
      [[0, 2], [1, 1], [10, 1], [20, 1]],
    );
  });

  it('error: a source error passes through at once; the batches in flight are dropped', async () => {
    const err = new Error('上游断开');
    let tagger!: VirtualTagger;
    await runAsyncMarbles(({ ts, cold, expectObservable, expectSubscriptions }) => {
      tagger = new VirtualTagger(ts);
      const src = cold('ab#', BATCHES, err);
      expectObservable(show(tagBatch({ tagger, concurrency: 2 }))(src)).toBe('--#', undefined, err);
      expectSubscriptions(src.subscriptions).toBe('^-!');
    });
    assert.equal(tagger.calls.length, 2);
  });

  it('early unsubscribe: pending results dropped, no retries of a failed batch call, no further calls', async () => {
    let tagger!: VirtualTagger;
    await runAsyncMarbles(({ ts, cold, expectObservable, expectSubscriptions }) => {
      tagger = new VirtualTagger(ts, { poison: '☠', durationMs: durations({ A: 10, B: 20 }) });
      const src = cold('pbc---', BATCHES);
      // The batch call of p fails at 10, after the unsubscribe at 5: its posts must not be retried.
      expectObservable(show(tagBatch({ tagger, concurrency: 2 }))(src), '^----!').toBe('------');
      expectSubscriptions(src.subscriptions).toBe('^----!');
    });
    assert.deepStrictEqual(
      tagger.calls.map((c) => [c.at, c.texts.length]),
      [[0, 2], [1, 1]],
    );
  });

  it('slots: a batch holds a slot from its arrival until its result was emitted', async () => {
    const slots = taggerSlots({ concurrency: 2 });
    const free: Array<[number, number]> = [];
    await runAsyncMarbles(({ ts, cold, expectObservable }) => {
      const tagger = new VirtualTagger(ts, { durationMs: durations({ A: 10, B: 3, C: 4 }) });
      // Each check is scheduled first, so it runs before whatever else happens in its frame.
      for (const at of [0, 1, 5, 10, 11, 14, 15]) ts.schedule(() => free.push([at, slots.free]), at);
      expectObservable(show(tagBatch({ tagger, slots }))(cold('ab-c--', BATCHES)), '^-----------------!').toBe('10ms (xy) z', {
        x: '10:ok:p-a',
        y: '11:ok:p-b',
        z: '12:ok:p-c',
      });
    });
    // c (at 3) waits for a slot until a and b went out at 10; c's own slot frees when it went out at 14.
    assert.deepStrictEqual(free, [[0, 2], [1, 1], [5, 0], [10, 0], [11, 1], [14, 1], [15, 2]]);
    assert.equal(slots.claimed, false, 'the claim ends with the subscription');
  });

  it('slots: a second subscription on the same slots is a stream error', async () => {
    const slots = taggerSlots({ concurrency: 1 });
    const tagger = new FakeTagger();
    const first = NEVER.pipe(tagBatch({ tagger, slots })).subscribe();
    await assert.rejects(lastValueFrom(of([bj]).pipe(tagBatch({ tagger, slots }))), /already claimed by another tagBatch subscription/);
    first.unsubscribe();
    assert.equal((await lastValueFrom(of([bj]).pipe(tagBatch({ tagger, slots })))).length, 1, 'free again after the first ended');
  });

  it('rejects a bad concurrency or slots with a ConfigError', () => {
    const tagger = new FakeTagger();
    const cases: Array<[object, RegExp]> = [
      [{ tagger, concurrency: 0 }, /concurrency must be a positive integer, got 0; e\.g\. 1/],
      [{ tagger, concurrency: 1.5 }, /concurrency must be a positive integer/],
      [{ tagger, concurrency: '2' }, /concurrency must be a positive integer, got "2"/],
      [{ tagger, slots: 2 }, /slots must be an object/],
      [{ tagger, slots: {} }, /slots must come from taggerSlots/],
      [{ tagger, slots: taggerSlots({ concurrency: 2 }), concurrency: 3 }, /concurrency 3 differs from slots\.capacity 2/],
    ];
    for (const [opts, message] of cases) {
      assert.throws(() => tagBatch(opts as never), (e: unknown) => e instanceof ConfigError && message.test(e.message), JSON.stringify(opts));
    }
    assert.throws(() => taggerSlots({ concurrency: 0 }), (e: unknown) => e instanceof ConfigError && /taggerSlots: concurrency must be a positive integer/.test(e.message));
    assert.doesNotThrow(() => tagBatch({ tagger, slots: taggerSlots({ concurrency: 2 }), concurrency: 2 }));
  });
});

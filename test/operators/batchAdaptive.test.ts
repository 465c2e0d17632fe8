// batchAdaptive: a batch whenever the tagger has a free slot, on virtual time.
// Most specs put `busyFor` where tagBatch goes: it passes each batch on at
// once and keeps a slot taken for a given number of virtual ms, so the output
// diagram shows when the batcher emitted. The last specs use the real
// tagBatch with a tagger whose calls take virtual time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Observable, Subject, Subscription, concatMap, delay, from, map, of, tap } from 'rxjs';
import type { MonoTypeOperatorFunction, SchedulerLike } from 'rxjs';
import { ConfigError, MentionflowError } from '../../common/errors.js';
import { batchAdaptive } from '../../operators/batchAdaptive.js';
import { tagBatch } from '../../operators/tagBatch.js';
import { taggerSlots } from '../../operators/taggerSlots.js';
import type { TaggerSlots } from '../../operators/taggerSlots.js';
import type { Item, TaggedPost } from '../../operators/types.js';
import type { Post } from '../../schemas/types.generated.js';
import { VirtualTagger, runAsyncMarbles } from './asyncMarbles.js';
import { failedItem, newScheduler, okItem, post, summarize } from './helpers.js';

const SAMPLE = '北京上海深圳杭州广州成都武汉南京西安重庆天津苏州长沙郑州青岛';

/** An ok item whose post text has `chars` code points. */
function postItem(offset: number, chars: number): Item<Post> {
  return okItem(offset, post(`p${offset}`, SAMPLE.repeat(Math.ceil(chars / SAMPLE.length + 1)).slice(0, chars)));
}

const [a, b, c, d, e, f, g] = [2, 2, 2, 2, 2, 2, 2].map((n, i) => postItem(i, n));
const ITEMS = { a, b, c, d, e, f, g };

interface Busy<T> {
  op: MonoTypeOperatorFunction<T[]>;
  /** Batches that arrived while no slot was free. */
  overshoots: T[][];
}

/**
 * Stands in for tagBatch: claims the slots, takes a slot for each batch and
 * passes the batch on at once, then frees the slot `busyMs(batch, index)`
 * virtual ms later (after `afterRelease`, if given, has looked at the state).
 */
function busyFor<T>(
  slots: TaggerSlots,
  scheduler: SchedulerLike,
  busyMs: number | ((batch: T[], index: number) => number),
  afterRelease?: () => void,
): Busy<T> {
  const overshoots: T[][] = [];
  const op: MonoTypeOperatorFunction<T[]> = (source) =>
    new Observable<T[]>((subscriber) => {
      const claim = slots.claim();
      const timers = new Subscription();
      let index = 0;
      const subscription = source.subscribe({
        next: (batch) => {
          if (slots.free === 0) overshoots.push(batch);
          claim.take();
          subscriber.next(batch);
          const ms = typeof busyMs === 'number' ? busyMs : busyMs(batch, index++);
          timers.add(
            scheduler.schedule(() => {
              claim.release();
              afterRelease?.();
            }, ms),
          );
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => {
        timers.unsubscribe();
        claim.close();
        subscription.unsubscribe();
      };
    });
  return { op, overshoots };
}

describe('batchAdaptive', () => {
  const limits = { maxCount: 3, maxChars: 10 };

  /** batchAdaptive followed by a tagger that is busy for `busyMs` per batch, with `concurrency` slots. */
  function adaptive(ts: SchedulerLike, busyMs: number, opts: { maxCount?: number; maxChars?: number; concurrency?: number } = {}) {
    const slots = taggerSlots({ concurrency: opts.concurrency ?? 1 });
    const busy = busyFor<Item<Post>>(slots, ts, busyMs);
    const op = (src: Observable<Item<Post>>) =>
      src.pipe(batchAdaptive({ maxCount: opts.maxCount ?? limits.maxCount, maxChars: opts.maxChars ?? limits.maxChars, slots }), busy.op);
    return { op, busy, slots };
  }

  it('never: emits nothing', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold<Item<Post>>('-');
      expectObservable(adaptive(ts, 5).op(src)).toBe('-');
      expectSubscriptions(src.subscriptions).toBe('^');
    });
  });

  it('empty: completes without emitting an empty batch', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      expectObservable(adaptive(ts, 5).op(cold<Item<Post>>('|'))).toBe('|');
    });
  });

  it('idle: one item goes out at once, as a batch of one', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      expectObservable(adaptive(ts, 2).op(cold('a---|', ITEMS))).toBe('x---|', { x: [a] });
    });
  });

  it('idle: items further apart than a tagger call each go out at once, alone', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      expectObservable(adaptive(ts, 3).op(cold('a---b---c---|', ITEMS))).toBe('x---y---z---|', { x: [a], y: [b], z: [c] });
    });
  });

  it('burst while busy: what arrived meanwhile goes out as one batch the moment the slot frees', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      // a at 0 goes alone and keeps the tagger busy until 5; b..e accumulate.
      expectObservable(adaptive(ts, 5, { maxCount: 8 }).op(cold('abcde-----|', ITEMS))).toBe('x----y----|', {
        x: [a],
        y: [b, c, d, e],
      });
    });
  });

  it('maxCount: a free slot takes at most maxCount of the accumulated items; the rest wait for the next slot', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      // b..f accumulate while a is tagged (f arrives at 5, just before the slot frees); g at 6.
      expectObservable(adaptive(ts, 5).op(cold('abcdefg-------|', ITEMS))).toBe('x----y----z---|', {
        x: [a],
        y: [b, c, d],
        z: [e, f, g],
      });
    });
  });

  it('maxChars: a batch stops before the item that would pass it; a heavier item goes alone', () => {
    const [w4a, w4b, w4c, w4d] = [0, 1, 2, 3].map((i) => postItem(i, 4));
    const huge = postItem(4, 25);
    const small = postItem(5, 3);
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      // 4 + 4 = 8; a third 4 would make 12 > 10.
      expectObservable(adaptive(ts, 5).op(cold('abcd-----------|', { a: w4a, b: w4b, c: w4c, d: w4d }))).toBe('x----y----z----|', {
        x: [w4a],
        y: [w4b, w4c],
        z: [w4d],
      });
      // small (3) + huge (25) > 10: small goes first, huge alone, then the next small.
      expectObservable(adaptive(ts, 5, { maxCount: 8 }).op(cold('abhc--------------|', { a: w4a, b: small, h: huge, c: postItem(6, 3) }))).toBe(
        'x----y----z----w--|',
        { x: [w4a], y: [small], z: [huge], w: [postItem(6, 3)] },
      );
    });
  });

  it('concurrency 2: a second item goes out at once on the second slot; then items wait for the first free one', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      expectObservable(adaptive(ts, 5, { concurrency: 2 }).op(cold('abcd------|', ITEMS))).toBe('xy---z----|', {
        x: [a],
        y: [b],
        z: [c, d],
      });
    });
  });

  it('completion: everything accumulated goes out at once, within the limits, then completes', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      expectObservable(adaptive(ts, 10).op(cold('abcde|', ITEMS))).toBe('x----(yz|)', { x: [a], y: [b, c, d], z: [e] });
    });
  });

  it('error: passes through at once and drops what accumulated', () => {
    const err = new Error('分区重新平衡失败');
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('ab#', ITEMS, err);
      expectObservable(adaptive(ts, 5).op(src)).toBe('x-#', { x: [a] }, err);
      expectSubscriptions(src.subscriptions).toBe('^-!');
    });
  });

  it('endless source: keeps emitting batches and never completes', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a-b-c-d-e-f-a-b-c-', ITEMS);
      // Busy 3 ms per batch: a alone; b waits until 3; c and d (d arrives at 6, just before the slot frees) go at 6 ...
      expectObservable(adaptive(ts, 3).op(src)).toBe('x--y--z--w--v--u--t', {
        x: [a],
        y: [b],
        z: [c, d],
        w: [e],
        v: [f, a],
        u: [b],
        t: [c],
      });
      expectSubscriptions(src.subscriptions).toBe('^');
    });
  });

  it('early unsubscribe: unsubscribes the source', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('abc-------|', ITEMS);
      expectObservable(adaptive(ts, 5).op(src), '^--!').toBe('x--', { x: [a] });
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });

  it('early unsubscribe: a slot freed afterwards emits nothing', () => {
    const slots = taggerSlots({ concurrency: 1 });
    const claim = slots.claim();
    claim.take(); // the tagger is busy
    const items = new Subject<Item<Post>>();
    const seen: Item<Post>[][] = [];
    const sub = items.pipe(batchAdaptive({ ...limits, slots })).subscribe((batch) => seen.push(batch));
    items.next(a);
    items.next(b);
    assert.deepStrictEqual(seen, [], 'the items wait while the tagger is busy');
    claim.release();
    assert.deepStrictEqual(seen, [[a, b]], 'and go out when the slot frees');
    claim.take();
    items.next(c);
    sub.unsubscribe();
    claim.release();
    assert.deepStrictEqual(seen, [[a, b]], 'nothing after the unsubscribe');
  });

  it('callback throws: a throwing weight becomes a stream error', () => {
    const boom = new Error('权重函数出错');
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const slots = taggerSlots({ concurrency: 1 });
      const src = cold('ab-c|', ITEMS);
      const op = batchAdaptive<Post>({
        ...limits,
        slots,
        weight: (item) => {
          if (item === b) throw boom;
          return 1;
        },
      });
      expectObservable(src.pipe(op, busyFor<Item<Post>>(slots, ts, 5).op)).toBe('x#', { x: [a] }, boom);
      expectSubscriptions(src.subscriptions).toBe('^!');
    });
  });

  it('callback throws: a weight that is not a finite number >= 0 is a stream error', () => {
    for (const bad of [-1, Number.NaN, Infinity]) {
      const errors: unknown[] = [];
      const slots = taggerSlots({ concurrency: 1 });
      of(a)
        .pipe(batchAdaptive<Post>({ ...limits, slots, weight: () => bad }), busyFor<Item<Post>>(slots, newScheduler(), 1).op)
        .subscribe({ error: (err) => errors.push(err) });
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof MentionflowError);
      assert.match((errors[0] as Error).message, /batchAdaptive: weight\(item\) returned .*finite number >= 0/);
    }
  });

  it('without a tagBatch holding the slots it errors at subscription, saying what to add', () => {
    const errors: unknown[] = [];
    of(a)
      .pipe(batchAdaptive({ ...limits, slots: taggerSlots({ concurrency: 1 }) }))
      .subscribe({ error: (err) => errors.push(err) });
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof ConfigError);
    assert.match((errors[0] as Error).message, /no tagBatch holds these slots; put tagBatch\(\{ tagger, slots \}\)/);
  });

  it('rejects bad options with a ConfigError that says what to use', () => {
    const slots = taggerSlots({ concurrency: 1 });
    const cases: Array<[object, RegExp]> = [
      [{ ...limits, slots, maxCount: 0 }, /maxCount must be a positive integer, got 0; e\.g\. 64/],
      [{ ...limits, slots, maxChars: 0 }, /maxChars must be a number > 0/],
      [{ ...limits }, /slots must be an object, got undefined; pass taggerSlots\(\{ concurrency \}\)/],
      [{ ...limits, slots: {} }, /slots must come from taggerSlots/],
      [{ ...limits, slots, maxWaitMs: 50 }, /maxWaitMs is not used: a batch leaves when the tagger has a free slot/],
      [{ ...limits, slots, weight: 3 }, /weight must be a function/],
    ];
    for (const [opts, message] of cases) {
      assert.throws(
        () => batchAdaptive(opts as never),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
        JSON.stringify(opts),
      );
    }
    assert.throws(() => batchAdaptive(undefined as never), ConfigError);
    assert.doesNotThrow(() => batchAdaptive({ maxCount: 1, maxChars: Infinity, slots }));
  });

  it('property: every item once, in order; limits hold; a batch only when a slot is free; never an item waiting beside a free slot', () => {
    const arbItem = fc.record({ weight: fc.integer({ min: 0, max: 40 }), gap: fc.integer({ min: 0, max: 12 }), failed: fc.boolean() });
    fc.assert(
      fc.property(
        fc.array(arbItem, { maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        (specs, busyTimes, maxCount, maxChars, concurrency, complete) => {
          type Doc = { weight: number };
          const items: Item<Doc>[] = specs.map((s, i) => (s.failed ? failedItem(i) : okItem(i, { weight: s.weight })));
          const weight = (item: Item<Doc>): number => (item.kind === 'ok' ? item.value.weight : 0);
          const slots = taggerSlots({ concurrency });
          let arrived = 0;
          let emitted = 0;
          const idleWithWaiting: string[] = [];
          const check = (when: string) => {
            if (slots.free > 0 && emitted !== arrived) idleWithWaiting.push(`${when}: ${arrived - emitted} item(s) wait beside a free slot`);
          };
          const batches: Array<{ at: number; items: Item<Doc>[] }> = [];
          let completedAt = -1;
          const ts = newScheduler();
          const busy = busyFor<Item<Doc>>(slots, ts, (_batch, i) => busyTimes[i % busyTimes.length], () => check(`after a release at ${ts.now()}`));
          ts.run(() => {
            const source = from(items.map((item, i) => ({ item, gap: specs[i].gap }))).pipe(
              concatMap(({ item, gap }) => of(item).pipe(delay(gap, ts))),
              tap(() => {
                check(`before an arrival at ${ts.now()}`);
                arrived++;
              }),
            );
            const sub = source
              .pipe(
                batchAdaptive({ maxCount, maxChars, weight, slots }),
                tap((batch) => (emitted += batch.length)),
                busy.op,
              )
              .subscribe({ next: (batch) => batches.push({ at: ts.now(), items: batch }), complete: () => (completedAt = ts.now()) });
            if (!complete) ts.schedule(() => sub.unsubscribe(), 10_000);
          });
          assert.deepStrictEqual(batches.flatMap((x) => x.items), items, 'every item exactly once, in order');
          for (const batch of batches) {
            assert.ok(batch.items.length >= 1, 'no empty batch');
            assert.ok(batch.items.length <= maxCount, 'maxCount');
            const sum = batch.items.reduce((acc, it) => acc + weight(it), 0);
            assert.ok(sum <= maxChars || batch.items.length === 1, `maxChars: ${sum} > ${maxChars}`);
          }
          assert.deepStrictEqual(idleWithWaiting, [], 'an item never waits while a slot is free');
          for (const batch of busy.overshoots) {
            assert.equal(batches.find((x) => x.items === batch)?.at, completedAt, 'a batch without a free slot only on completion');
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('batchAdaptive -> tagBatch (virtual time, the real tagBatch)', () => {
  const A = okItem(0, post('p-a', '北京A'));
  const B = okItem(1, post('p-b', '上海B'));
  const C = okItem(2, post('p-c', '深圳C'));
  const D = okItem(3, post('p-d', '杭州D'));
  const E = okItem(4, post('p-e', '广州E'));
  const POSTS = { a: A, b: B, c: C, d: D, e: E };
  const ids = (batch: Item<TaggedPost>[]) => batch.map(summarize).join(' ');

  it('idle: a post is tagged at once, alone; a burst while busy is one tagger call when the slot frees', async () => {
    let tagger!: VirtualTagger;
    await runAsyncMarbles(({ ts, cold, expectObservable }) => {
      tagger = new VirtualTagger(ts); // 10 ms per call
      const slots = taggerSlots({ concurrency: 1 });
      const out = cold('a----bcd-------------e---|', POSTS).pipe(batchAdaptive({ maxCount: 64, maxChars: 8192, slots }), tagBatch({ tagger, slots }), map(ids));
      // a: 0-10. b at 5 waits; c, d join it; all three go at 10 (10-20). e at 21 finds the tagger idle: 21-31.
      expectObservable(out).toBe('10ms x 9ms y 10ms (z|)', {
        x: '0:ok:p-a',
        y: '1:ok:p-b 2:ok:p-c 3:ok:p-d',
        z: '4:ok:p-e',
      });
    });
    assert.deepStrictEqual(
      tagger.calls.map((call) => [call.at, call.texts.length]),
      [[0, 1], [10, 3], [21, 1]],
    );
  });

  it('concurrency 2: two calls at once when idle, then the accumulated posts in one call; order kept', async () => {
    let tagger!: VirtualTagger;
    await runAsyncMarbles(({ ts, cold, expectObservable }) => {
      tagger = new VirtualTagger(ts, { durationMs: (texts) => (texts[0].endsWith('A') ? 12 : 4) });
      const slots = taggerSlots({ concurrency: 2 });
      const out = cold('abcde---------------|', POSTS).pipe(batchAdaptive({ maxCount: 64, maxChars: 8192, slots }), tagBatch({ tagger, slots }), map(ids));
      // a: 0-12 (slow), b: 1-5 and waits for a (keeping its slot); c, d, e accumulate until a and b went out at 12.
      expectObservable(out).toBe('12ms (xy) z---|', {
        x: '0:ok:p-a',
        y: '1:ok:p-b',
        z: '2:ok:p-c 3:ok:p-d 4:ok:p-e',
      });
    });
    assert.deepStrictEqual(
      tagger.calls.map((call) => [call.at, call.texts.length]),
      [[0, 1], [1, 1], [12, 3]],
    );
  });

  it('property: with the real tagBatch every post comes out once, in order, and no more than `concurrency` calls run at once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 8 }), poison: fc.boolean(), chars: fc.integer({ min: 0, max: 12 }) }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 12 }),
        async (specs, concurrency, maxCount, callMs) => {
          const items = specs.map((s, i) => okItem(i, post(`p${i}`, `${'北'.repeat(s.chars)}${s.poison ? '☠' : ''}`)));
          let tagger!: VirtualTagger;
          const out: Item<TaggedPost>[][] = [];
          await runAsyncMarbles(({ ts }) => {
            tagger = new VirtualTagger(ts, { poison: '☠', durationMs: (texts) => callMs + texts.length });
            const slots = taggerSlots({ concurrency });
            ts.schedule(() => {
              from(items.map((item, i) => ({ item, gap: specs[i].gap })))
                .pipe(
                  concatMap(({ item, gap }) => of(item).pipe(delay(gap, ts))),
                  batchAdaptive({ maxCount, maxChars: 20, slots }),
                  tagBatch({ tagger, slots }),
                )
                .subscribe((batch) => out.push(batch));
            }, 0);
          });
          assert.deepStrictEqual(out.flat().map(summarize), items.map((item, i) => (specs[i].poison ? `${i}:failed:tag:TaggingError` : summarize(item))));
          assert.ok(tagger.maxInFlight <= concurrency, `${tagger.maxInFlight} calls at once > ${concurrency}`);
        },
      ),
      { numRuns: 60 },
    );
  });
});

// batchItems: count / weight / first-item timer limits, on virtual time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Subject, concatMap, delay, from, of } from 'rxjs';
import type { SchedulerLike, Subscription } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { ConfigError, MentionflowError } from '../../common/errors.js';
import { batchItems } from '../../operators/batchItems.js';
import { taggerSlots } from '../../operators/taggerSlots.js';
import type { Item } from '../../operators/types.js';
import type { Post } from '../../schemas/types.generated.js';
import { failedItem, newScheduler, okItem, post } from './helpers.js';

const SAMPLE = '北京上海深圳杭州广州成都武汉南京西安重庆天津苏州长沙郑州青岛';

/** An ok item whose post text has `chars` code points. */
function postItem(offset: number, chars: number): Item<Post> {
  return okItem(offset, post(`p${offset}`, SAMPLE.repeat(Math.ceil(chars / SAMPLE.length + 1)).slice(0, chars)));
}

const [a, b, c, d, e, f, g] = [2, 2, 2, 2, 2, 2, 2].map((n, i) => postItem(i, n));
const ITEMS = { a, b, c, d, e, f, g };

/** A scheduler that remembers every action it schedules, to check they are cancelled. */
function tracking(ts: TestScheduler): { scheduler: SchedulerLike; actions: Subscription[] } {
  const actions: Subscription[] = [];
  const scheduler: SchedulerLike = {
    now: () => ts.now(),
    schedule: (work: never, delayMs?: number, state?: never) => {
      const action = ts.schedule(work, delayMs, state);
      actions.push(action);
      return action;
    },
  } as SchedulerLike;
  return { scheduler, actions };
}

describe('batchItems', () => {
  const limits = { maxCount: 3, maxWaitMs: 5, maxChars: 10 };

  it('never: emits nothing, schedules nothing', () => {
    const ts = newScheduler();
    const { scheduler, actions } = tracking(ts);
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold<Item<Post>>('-');
      expectObservable(src.pipe(batchItems({ ...limits, scheduler }))).toBe('-');
      expectSubscriptions(src.subscriptions).toBe('^');
    });
    assert.equal(actions.length, 0);
  });

  it('empty: completes without emitting an empty batch', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<Item<Post>>('|').pipe(batchItems(limits))).toBe('|');
    });
  });

  it('one value: flushed on completion', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', ITEMS).pipe(batchItems(limits))).toBe('-(x|)', { x: [a] });
    });
  });

  it('one value: flushed maxWaitMs after it arrived when the source goes on', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      expectObservable(cold('-a------', ITEMS).pipe(batchItems({ ...limits, scheduler: ts }))).toBe('------x-', {
        x: [a],
      });
    });
  });

  it('many values: a batch is emitted at maxCount', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abcdefg|', ITEMS).pipe(batchItems(limits))).toBe('--x--y-(z|)', {
        x: [a, b, c],
        y: [d, e, f],
        z: [g],
      });
    });
  });

  it('many values: the timer starts at the FIRST item of a batch and is not reset', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      // a at 0 opens a batch (timer due at 5); b at 2 joins it; c at 7 opens the next (due at 12).
      expectObservable(cold('a-b----c-------|', ITEMS).pipe(batchItems(limits))).toBe('-----x------y--|', {
        x: [a, b],
        y: [c],
      });
    });
  });

  it('a batch that opens while an earlier batch\'s timer runs still waits maxWaitMs from its own first item', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      // a, b, c fill the first batch at 2 (its timer, due at 5, keeps running);
      // d at 4 opens the next: at 5 the timer finds it 1 ms old and waits on to 9.
      expectObservable(cold('abc-d------|', ITEMS).pipe(batchItems(limits))).toBe('--x------y-|', {
        x: [a, b, c],
        y: [d],
      });
    });
  });

  it('batches that fill before maxWaitMs share one timer, cancelled at completion', () => {
    const ts = newScheduler();
    const { scheduler, actions } = tracking(ts);
    ts.run(({ cold, expectObservable }) => {
      // Two full batches by 5 and a third at 6 (g, due at 11) leaving at completion: one timer (set at 0) for all.
      expectObservable(cold('abcdef-g--|', ITEMS).pipe(batchItems({ ...limits, scheduler }))).toBe('--x--y----(z|)', {
        x: [a, b, c],
        y: [d, e, f],
        z: [g],
      });
    });
    assert.equal(actions.length, 2, 'the timer set at a (0), and once more at 5 for g (due at 11)');
    assert.ok(actions[1]?.closed, 'the timer running at completion is cancelled');
  });

  it('a wall clock stepped back delays a batch by at most one more maxWaitMs', () => {
    const ts = newScheduler();
    let stepBack = 0;
    // The scheduler's clock (Date.now for asyncScheduler) jumps 100 ms back at frame 5, before the running timer (set at a) runs out.
    const scheduler: SchedulerLike = {
      now: () => ts.now() - stepBack,
      schedule: (work: never, delayMs?: number, state?: never) => ts.schedule(work, delayMs, state),
    } as SchedulerLike;
    ts.schedule(() => {
      stepBack = 100;
    }, 4.5);
    ts.run(({ cold, expectObservable }) => {
      // a, b, c fill at 2; d opens a batch at 4. At 5 the clock says d came 101 ms from now:
      // the timer waits on one maxWaitMs (to 10), then flushes d.
      expectObservable(cold('abc-d---------|', ITEMS).pipe(batchItems({ ...limits, scheduler }))).toBe('--x-------y---|', {
        x: [a, b, c],
        y: [d],
      });
    });
  });

  it('many values: the summed weight closes a batch', () => {
    const w4 = [0, 1, 2].map((i) => postItem(i, 4));
    const w6 = postItem(3, 6);
    newScheduler().run(({ cold, expectObservable }) => {
      // 4 + 4 = 8; the third 4 would make 12 > 10, so it starts the next batch.
      expectObservable(cold('abc|', { a: w4[0], b: w4[1], c: w4[2] }).pipe(batchItems(limits))).toBe('--x(y|)', {
        x: [w4[0], w4[1]],
        y: [w4[2]],
      });
      // 4 + 6 = 10 reaches maxChars: emitted at once.
      expectObservable(cold('ab---|', { a: w4[0], b: w6 }).pipe(batchItems(limits))).toBe('-x---|', {
        x: [w4[0], w6],
      });
    });
  });

  it('many values: an item heavier than maxChars goes out alone, at once', () => {
    const small = postItem(0, 3);
    const huge = postItem(1, 25);
    const after = postItem(2, 3);
    newScheduler().run(({ cold, expectObservable }) => {
      // small at 0, huge at 2 (flushes small first), after at 9, complete at 10.
      expectObservable(cold('a-b------c|', { a: small, b: huge, c: after }).pipe(batchItems(limits))).toBe('--(xy)----(z|)', {
        x: [small],
        y: [huge],
        z: [after],
      });
    });
  });

  it('failed items weigh nothing by default; code points are counted, not UTF-16 units', () => {
    const fail1 = failedItem(0);
    const fail2 = failedItem(1);
    const astral = okItem(2, post('p-astral', '𠮷𠮷𠮷𠮷𠮷')); // 5 code points, 10 UTF-16 units
    const five = postItem(3, 5);
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('ab-|', { a: fail1, b: fail2 }).pipe(batchItems(limits))).toBe('---(x|)', {
        x: [fail1, fail2],
      });
      // 5 + 5 = 10 reaches maxChars (10 + 5 UTF-16 units would not have).
      expectObservable(cold('ab-|', { a: astral, b: five }).pipe(batchItems(limits))).toBe('-x-|', {
        x: [astral, five],
      });
    });
  });

  it('a custom weight works for any item type', () => {
    type Doc = { size: number };
    const x = okItem<Doc>(0, { size: 7 });
    const y = okItem<Doc>(1, { size: 7 });
    newScheduler().run(({ cold, expectObservable }) => {
      const op = batchItems<Doc>({ ...limits, weight: (item) => (item.kind === 'ok' ? item.value.size : 0) });
      expectObservable(cold<Item<Doc>>('xy|', { x, y }).pipe(op)).toBe('-x(y|)', { x: [x], y: [y] });
    });
    // @ts-expect-error -- without a `text` field the weight function is required
    batchItems<Doc>(limits);
  });

  it('error: passes through at once and drops the partial batch; the timer is cancelled', () => {
    const ts = newScheduler();
    const { scheduler, actions } = tracking(ts);
    const err = new Error('分区重新平衡失败');
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a-#', ITEMS, err);
      expectObservable(src.pipe(batchItems({ ...limits, scheduler }))).toBe('--#', undefined, err);
      expectSubscriptions(src.subscriptions).toBe('^-!');
    });
    assert.equal(actions.length, 1);
    assert.ok(actions.every((s) => s.closed));
  });

  it('endless source: keeps emitting batches and never completes', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('-a-b-c-d-e-f-a-b-c-d-e-f-', ITEMS);
      expectObservable(src.pipe(batchItems({ ...limits, maxWaitMs: 100, scheduler: ts }))).toBe(
        '-----x-----y-----x-----y-',
        { x: [a, b, c], y: [d, e, f] },
      );
      expectSubscriptions(src.subscriptions).toBe('^');
    });
  });

  it('early unsubscribe: unsubscribes the source and cancels the pending timer', () => {
    const ts = newScheduler();
    const { scheduler, actions } = tracking(ts);
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a---------|', ITEMS);
      expectObservable(src.pipe(batchItems({ ...limits, scheduler })), '^--!').toBe('---');
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
    assert.equal(actions.length, 1);
    assert.ok(actions[0].closed, 'the maxWaitMs timer must be cancelled on unsubscribe');
  });

  it('callback throws: a throwing weight becomes a stream error', () => {
    const boom = new Error('权重函数出错');
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('ab-c|', ITEMS);
      const op = batchItems<Post>({
        ...limits,
        weight: (item) => {
          if (item === b) throw boom;
          return 1;
        },
      });
      expectObservable(src.pipe(op)).toBe('-#', undefined, boom);
      expectSubscriptions(src.subscriptions).toBe('^!');
    });
  });

  it('callback throws: a weight that is not a finite number >= 0 is a stream error', () => {
    for (const bad of [-1, Number.NaN, Infinity, '3' as unknown as number]) {
      const errors: unknown[] = [];
      newScheduler().run(({ cold }) => {
        cold('a|', ITEMS)
          .pipe(batchItems<Post>({ ...limits, weight: () => bad }))
          .subscribe({ error: (err) => errors.push(err) });
      });
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof MentionflowError);
      assert.match((errors[0] as Error).message, /weight\(item\) returned .*finite number >= 0/);
    }
  });

  it('each subscription owns its own batch', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const batched = cold('ab|', ITEMS).pipe(batchItems(limits));
      expectObservable(batched).toBe('--(x|)', { x: [a, b] });
      expectObservable(batched).toBe('--(x|)', { x: [a, b] });
    });
  });

  describe('with the slots of the tagBatch after it: a batch ending at a caught-up record', () => {
    /** `item` as its source marks the last record before it ran out of input (RecordRef.caughtUp). */
    const caughtUp = (item: Item<Post>): Item<Post> => ({ ...item, ref: { ...item.ref, caughtUp: true } });
    const C = { ...ITEMS, c: caughtUp(c), e: caughtUp(e) };
    const opts = { maxCount: 5, maxChars: 100, maxWaitMs: 10, quietMs: 2 };

    it('leaves quietMs after it when nothing more came and a slot is free, not after maxWaitMs', () => {
      const ts = newScheduler();
      const slots = taggerSlots({ concurrency: 1 });
      ts.run(({ cold, expectObservable }) => {
        expectObservable(cold('-a-c-----------d--', C).pipe(batchItems({ ...opts, slots, scheduler: ts }))).toBe('-----x-------------------y', {
          x: [a, C.c],
          y: [d],
        });
      });
    });

    it('a record within quietMs cancels it: under steady input the batch fills on as usual', () => {
      const ts = newScheduler();
      const slots = taggerSlots({ concurrency: 1 });
      ts.run(({ cold, expectObservable }) => {
        // c caught up at 3, d at 4 (within 2 ms), e caught up at 6, f at 7: never quiet, so full at maxCount
        expectObservable(cold('-a-cd-ef--------', C).pipe(batchItems({ ...opts, slots, scheduler: ts }))).toBe('-------x--------', {
          x: [a, C.c, d, C.e, f],
        });
      });
    });

    it('while every slot is taken it waits, and leaves when the tagger frees one, not after maxWaitMs', () => {
      const ts = newScheduler();
      const slots = taggerSlots({ concurrency: 1 });
      const claim = slots.claim();
      claim.take(); // the tagger is busy with an earlier batch
      ts.run(({ cold, expectObservable }) => {
        ts.schedule(() => claim.release(), 7); // ... until frame 7 (quiet since frame 5)
        expectObservable(cold('-a-c---------', C).pipe(batchItems({ ...opts, slots, scheduler: ts }))).toBe('-------x-----', { x: [a, C.c] });
      });
      claim.close();
    });

    it('a slot that frees after more records came (not caught up) does not close the batch: it fills on', () => {
      const ts = newScheduler();
      const slots = taggerSlots({ concurrency: 1 });
      const claim = slots.claim();
      claim.take();
      ts.run(({ cold, expectObservable }) => {
        ts.schedule(() => claim.release(), 7);
        expectObservable(cold('-a-c--d------', C).pipe(batchItems({ ...opts, slots, scheduler: ts }))).toBe('-----------x-', {
          x: [a, C.c, d],
        });
      });
      claim.close();
    });

    it('without slots the mark is ignored: the limits and the timer alone', () => {
      const ts = newScheduler();
      ts.run(({ cold, expectObservable }) => {
        expectObservable(cold('-a-c--------', C).pipe(batchItems({ ...opts, maxWaitMs: 5, scheduler: ts }))).toBe('------x-----', {
          x: [a, C.c],
        });
      });
    });

    it('a record not marked caught up does not close its batch, slot free or not', () => {
      const ts = newScheduler();
      const slots = taggerSlots({ concurrency: 2 });
      ts.run(({ cold, expectObservable }) => {
        expectObservable(cold('-ab-----------', ITEMS).pipe(batchItems({ ...opts, maxWaitMs: 5, slots, scheduler: ts }))).toBe('------x-------', {
          x: [a, b],
        });
      });
    });

    it('unsubscribing stops listening to the slots', () => {
      const slots = taggerSlots({ concurrency: 1 });
      let listening = 0;
      const spied: typeof slots = Object.create(slots, {
        onFree: {
          value: (listener: () => void) => {
            listening++;
            const stop = slots.onFree(listener);
            return () => {
              listening--;
              return stop();
            };
          },
        },
      });
      const input = new Subject<Item<Post>>();
      const sub = input.pipe(batchItems({ maxCount: 5, maxChars: 100, maxWaitMs: Infinity, slots: spied })).subscribe();
      assert.equal(listening, 1);
      sub.unsubscribe();
      assert.equal(listening, 0);
    });

  });

  it('rejects bad options with a ConfigError that says what to use', () => {
    const cases: Array<[object, RegExp]> = [
      [{ ...limits, maxCount: 0 }, /maxCount must be a positive integer, got 0; e\.g\. 32/],
      [{ ...limits, maxCount: 2.5 }, /maxCount/],
      [{ ...limits, maxWaitMs: -1 }, /maxWaitMs must be a number >= 0/],
      [{ ...limits, maxWaitMs: Number.NaN }, /maxWaitMs/],
      [{ ...limits, maxChars: 0 }, /maxChars must be a number > 0/],
      [{ ...limits, weight: 3 }, /weight must be a function/],
      [{ ...limits, scheduler: {} }, /scheduler must be an RxJS SchedulerLike/],
      [{ ...limits, slots: 1 }, /slots must be an object, got 1; pass taggerSlots/],
      [{ ...limits, slots: {} }, /slots must come from taggerSlots/],
      [{ ...limits, quietMs: -1 }, /quietMs must be a number >= 0/],
    ];
    for (const [opts, message] of cases) {
      assert.throws(
        () => batchItems(opts as never),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
        JSON.stringify(opts),
      );
    }
    assert.throws(() => batchItems(undefined as never), ConfigError);
    // Infinity disables the time and weight limits.
    assert.doesNotThrow(() => batchItems({ maxCount: 1, maxWaitMs: Infinity, maxChars: Infinity }));
  });

  it('property: every item once, in order; limits hold; no item waits longer than maxWaitMs', () => {
    const arbItem = fc.record({ weight: fc.integer({ min: 0, max: 40 }), gap: fc.integer({ min: 0, max: 12 }), failed: fc.boolean() });
    fc.assert(
      fc.property(
        fc.array(arbItem, { maxLength: 60 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 20 }),
        fc.boolean(),
        (specs, maxCount, maxChars, maxWaitMs, complete) => {
          const items: Item<{ weight: number }>[] = specs.map((s, i) =>
            s.failed ? failedItem(i) : okItem(i, { weight: s.weight }),
          );
          const weight = (item: Item<{ weight: number }>): number => (item.kind === 'ok' ? item.value.weight : 0);
          const arrivedAt = new Map<Item<unknown>, number>();
          const batches: Array<{ at: number; items: Item<{ weight: number }>[] }> = [];
          const ts = newScheduler();
          ts.run(() => {
            const source = from(items.map((item, i) => ({ item, gap: specs[i].gap }))).pipe(
              concatMap(({ item, gap }) => of(item).pipe(delay(gap, ts))),
            );
            const tapped = source.pipe(
              concatMap((item) => {
                arrivedAt.set(item, ts.now());
                return of(item);
              }),
            );
            const sub = tapped
              .pipe(batchItems({ maxCount, maxChars, maxWaitMs, weight, scheduler: ts }))
              .subscribe((batch) => batches.push({ at: ts.now(), items: batch }));
            if (!complete) ts.schedule(() => sub.unsubscribe(), 10_000);
          });
          const flat = batches.flatMap((x) => x.items);
          assert.deepStrictEqual(flat, items, 'every item exactly once, in order');
          for (const batch of batches) {
            assert.ok(batch.items.length >= 1, 'no empty batch');
            assert.ok(batch.items.length <= maxCount, 'maxCount');
            const sum = batch.items.reduce((acc, it) => acc + weight(it), 0);
            assert.ok(sum <= maxChars || batch.items.length === 1, `maxChars: ${sum} > ${maxChars}`);
            const waited = batch.at - (arrivedAt.get(batch.items[0]) as number);
            assert.ok(waited <= maxWaitMs, `first item waited ${waited} > ${maxWaitMs}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** Seeded shuffling and subsampling: same seed -> same output, a permutation / subset of the input. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EMPTY, NEVER, Subject, from, lastValueFrom, take, throwError, toArray, type Observable } from 'rxjs';
import { ConfigError } from '../../common/errors.js';
import { shuffleBySeed, shuffledBySeed, subsample, subsampleBySeed } from '../../pipeline/train/sources/sampling.js';

const run = <T>(o: Observable<T>): Promise<T[]> => lastValueFrom(o.pipe(toArray()));
const seed = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const items = fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 60 });
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

/** Whether `sub` is a subsequence of `all` (same relative order). */
function isSubsequence<T>(sub: T[], all: T[]): boolean {
  let i = 0;
  for (const x of all) if (i < sub.length && sub[i] === x) i++;
  return i === sub.length;
}

describe('shuffleBySeed', () => {
  it('same seed, same output; the output is a permutation of the input', async () => {
    await fc.assert(
      fc.asyncProperty(items, seed, async (xs, s) => {
        const a = await run(from(xs).pipe(shuffleBySeed(s)));
        assert.deepEqual(await run(from(xs).pipe(shuffleBySeed(s))), a);
        assert.deepEqual(sorted(a), sorted(xs));
        assert.deepEqual(shuffledBySeed(xs, s), a);
      }),
    );
  });

  it('different seeds usually give different orders', async () => {
    const xs = Array.from({ length: 30 }, (_, i) => i);
    const orders = new Set<string>();
    for (let s = 0; s < 10; s++) orders.add((await run(from(xs).pipe(shuffleBySeed(s)))).join(','));
    assert.ok(orders.size >= 9, `only ${orders.size} distinct orders for 10 seeds`);
  });

  it('empty completes empty; errors pass through; nothing is emitted before completion', async () => {
    assert.deepEqual(await run(EMPTY.pipe(shuffleBySeed(1))), []);
    await assert.rejects(run(throwError(() => new Error('boom')).pipe(shuffleBySeed(1))), /boom/);
    const subject = new Subject<number>();
    const seen: number[] = [];
    subject.pipe(shuffleBySeed(1)).subscribe((x) => seen.push(x));
    subject.next(1);
    subject.next(2);
    assert.deepEqual(seen, []);
    subject.complete();
    assert.deepEqual(sorted(seen), [1, 2]);
  });
});

describe('subsample', () => {
  it('same seed, same output; min(k, n) items of the input, in input order', async () => {
    await fc.assert(
      fc.asyncProperty(items, fc.integer({ min: 0, max: 70 }), seed, async (xs, k, s) => {
        const a = await run(from(xs).pipe(subsample(k, s)));
        assert.deepEqual(await run(from(xs).pipe(subsample(k, s))), a);
        assert.equal(a.length, Math.min(k, xs.length));
        assert.ok(isSubsequence(a, xs), `${a} is not a subsequence of ${xs}`);
        assert.deepEqual(subsampleBySeed(xs, k, s), a);
      }),
    );
  });

  it('each subscription starts a fresh draw (resubscribing repeats the output)', async () => {
    const sampled = from(Array.from({ length: 100 }, (_, i) => i)).pipe(subsample(5, 42));
    assert.deepEqual(await run(sampled), await run(sampled));
  });

  it('draws roughly uniformly', () => {
    const counts = new Array<number>(10).fill(0);
    for (let s = 0; s < 2000; s++) for (const x of subsampleBySeed(Array.from({ length: 10 }, (_, i) => i), 3, s)) counts[x]++;
    // Expected 600 each; allow a generous band.
    for (const c of counts) assert.ok(c > 480 && c < 720, `counts ${counts}`);
  });

  it('an endless source never emits; take() before it bounds the input', async () => {
    let emitted = false;
    const sub = NEVER.pipe(subsample(2, 1)).subscribe(() => (emitted = true));
    sub.unsubscribe();
    assert.equal(emitted, false);
    assert.equal((await run(from([1, 2, 3, 4, 5]).pipe(take(3), subsample(10, 1)))).length, 3);
  });

  it('bad k or seed is a ConfigError at construction', () => {
    assert.throws(() => subsample(-1, 1), ConfigError);
    assert.throws(() => subsample(1.5, 1), ConfigError);
    assert.throws(() => shuffleBySeed(Number.NaN), ConfigError);
  });
});

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FORBIDDEN, type CrfScores } from '../../../models/crf/crf.js';
import { forwardBackward } from '../../../models/crf/forwardBackward.js';
import { nativeCrf, useNativeCrf } from '../../../models/crf/native.js';
import { viterbi } from '../../../models/crf/viterbi.js';
import { Rng } from '../../../models/rng.js';
import { nativeAddon, nativeAddonStatus } from '../../../schemas/nativeAddon.js';

const addon = nativeAddon();
const skip = addon === null ? `the addon is not built (${nativeAddonStatus().reason})` : false;

/** Random scores over K tags; with `forbid`, about that share of transitions (and starts, ends) get FORBIDDEN added. */
function randomScores(rng: Rng, k: number, forbid: number, integers: boolean): CrfScores {
  const value = () => (integers ? rng.int(3) : rng.normal());
  const penalty = () => (rng.next() < forbid ? FORBIDDEN : 0);
  return {
    numTags: k,
    trans: Float32Array.from({ length: k * k }, () => value() + penalty()),
    start: Float32Array.from({ length: k }, () => value() + penalty()),
    end: Float32Array.from({ length: k }, () => value() + penalty()),
  };
}

/** Both decoders on the same input, once in C and once in TypeScript. */
function both<T>(run: () => T): { c: T; ts: T } {
  useNativeCrf(true);
  assert.ok(nativeCrf() !== null);
  const c = run();
  useNativeCrf(false);
  assert.equal(nativeCrf(), null);
  const ts = run();
  useNativeCrf(true);
  return { c, ts };
}

/** Element by element by Object.is (NaN, where every path is forbidden, equals NaN whatever its sign bit). */
function sameValues(a: Float64Array, b: Float64Array, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Object.is(a[i], b[i]), `${what}[${i}]: ${a[i]} against ${b[i]}`);
}

describe("the CRF's decoders in C (schemas/native/crf.c)", { skip }, () => {
  after(() => useNativeCrf(true));

  it("use V8's exp and log: the same bits on random, tiny, huge and special inputs", () => {
    const rng = new Rng(17);
    const xs = [0, -0, 1, -1, 0.5, Math.LN2, -Math.LN2, 1e-30, -1e-30, 709.7, 709.79, -745.1, -745.2, 1e-310, Infinity, -Infinity, NaN];
    for (let i = 0; i < 200_000; i++) xs.push(rng.normal() * 10 ** rng.int(3), (rng.next() - 0.5) * 1e-6);
    for (const x of xs) assert.ok(Object.is(addon!.crfMath(0, x), Math.exp(x)), `exp(${x}): ${addon!.crfMath(0, x)} against ${Math.exp(x)}`);
    const ls = [0, -0, -1, 1, 2, 0.5, 1e-310, 5e-324, Infinity, NaN, 1 + 1e-7, 1 - 1e-7];
    for (let i = 0; i < 200_000; i++) ls.push(rng.next() * 10 ** (rng.int(40) - 20), 1 + (rng.next() - 0.5) * 1e-5);
    for (const x of ls) assert.ok(Object.is(addon!.crfMath(1, x), Math.log(x)), `log(${x}): ${addon!.crfMath(1, x)} against ${Math.log(x)}`);
  });

  it('give the TypeScript loops\' paths, scores, scaled vectors and logZ bit for bit: random CRFs, forbidden transitions, ties, offsets', () => {
    const rng = new Rng(29);
    let cases = 0;
    for (const k of [1, 2, 3, 5, 33]) {
      for (let trial = 0; trial < 40; trial++) {
        const integers = trial % 4 === 3; // integer scores: many ties for the argmax to break the same way
        const scores = randomScores(rng, k, trial % 2 === 0 ? 0 : 0.5, integers);
        const len = 1 + rng.int(trial % 5 === 0 ? 3 : 80);
        const offset = rng.int(3) * k;
        const data = Float32Array.from({ length: offset + len * k + rng.int(2) * k }, () => (integers ? rng.int(4) : rng.normal() * 3));
        const v = both(() => viterbi(scores, data, offset, len));
        assert.deepEqual([...v.c.path], [...v.ts.path], `K ${k}, trial ${trial}: paths`);
        assert.ok(Object.is(v.c.score, v.ts.score), `K ${k}, trial ${trial}: score ${v.c.score} against ${v.ts.score}`);
        const fb = both(() => forwardBackward(scores, data, offset, len));
        assert.ok(Object.is(fb.c.logZ, fb.ts.logZ), `K ${k}, trial ${trial}: logZ ${fb.c.logZ} against ${fb.ts.logZ}`);
        sameValues(fb.c.alpha, fb.ts.alpha, `K ${k}, trial ${trial}: alpha`);
        sameValues(fb.c.beta, fb.ts.beta, `K ${k}, trial ${trial}: beta`);
        cases++;
      }
    }
    assert.equal(cases, 200);
  });

  it('refuse arguments that do not fit with a TypeError or RangeError, and write nothing out of bounds', () => {
    const scores = randomScores(new Rng(3), 3, 0, false);
    const data = new Float32Array(12); // four steps of K = 3
    const path = new Int32Array(4);
    const { trans, start, end } = scores;
    assert.throws(() => addon!.crfViterbi(trans, start, end, data, 0, 5, new Int32Array(5)), RangeError); // one step too many
    assert.throws(() => addon!.crfViterbi(trans, start, end, data, 3, 4, path), RangeError); // the offset pushes it past the end
    assert.throws(() => addon!.crfViterbi(trans, start, end, data, 0, 0, path), RangeError);
    assert.throws(() => addon!.crfViterbi(trans, start, end, data, 1.5, 1, path), RangeError);
    assert.throws(() => addon!.crfViterbi(trans, start, end, data, 0, 4, new Int32Array(3)), RangeError);
    assert.throws(() => addon!.crfViterbi(trans.subarray(1), start, end, data, 0, 4, path), RangeError); // K*K wrong
    assert.throws(() => addon!.crfViterbi(Float64Array.from(trans) as unknown as Float32Array, start, end, data, 0, 4, path), TypeError);
    const f = (n: number) => new Float64Array(n);
    const expT = Float64Array.from(trans, Math.exp);
    assert.throws(() => addon!.crfForwardBackward(expT, start, end, data, 0, 4, f(11), f(4), f(12), f(4)), RangeError);
    assert.throws(() => addon!.crfForwardBackward(expT, start, end, data, 0, 4, f(12), f(3), f(12), f(4)), RangeError);
    assert.throws(() => addon!.crfForwardBackward(trans as unknown as Float64Array, start, end, data, 0, 4, f(12), f(4), f(12), f(4)), TypeError);
    assert.ok(Number.isFinite(addon!.crfViterbi(trans, start, end, data, 3, 3, path)));
    assert.ok(Number.isFinite(addon!.crfForwardBackward(expT, start, end, data, 3, 3, f(9), f(3), f(9), f(3))));
  });
});

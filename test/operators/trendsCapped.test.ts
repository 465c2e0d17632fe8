// Bounded memory: Space-Saving's guarantees against brute force, and a million distinct keys
// in one window with the key count staying at the cap.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SpaceSaving } from '../../operators/trends/spaceSaving.js';
import { TrendState, TREND_DEFAULTS } from '../../operators/trends/trendState.js';

describe('SpaceSaving', () => {
  it('exact below the capacity; beyond it, true <= count <= true + error, error <= N / capacity, heavy keys tracked', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 400 }), (cap, stream) => {
        const ss = new SpaceSaving<null>(cap);
        const truth = new Map<string, number>();
        for (const x of stream) {
          const k = `k${x}`;
          ss.increment(k, () => null);
          truth.set(k, (truth.get(k) ?? 0) + 1);
        }
        const n = stream.length;
        assert.equal(ss.total, n);
        assert.ok(ss.size <= cap);
        if (truth.size <= cap) {
          assert.equal(ss.approximate, false);
          for (const [k, c] of truth) assert.equal(ss.get(k)?.count, c);
        }
        for (const c of ss.values()) {
          const t = truth.get(c.key) ?? 0;
          assert.ok(t <= c.count && c.count <= t + c.error, `${c.key}: true ${t}, count ${c.count}, error ${c.error}`);
          assert.ok(c.error <= ss.errorBound && ss.errorBound <= n / cap, `error ${c.error}, bound ${ss.errorBound}, N/cap ${n / cap}`);
        }
        for (const [k, t] of truth) if (t > n / cap) assert.ok(ss.get(k) !== undefined, `${k} (${t} > ${n}/${cap}) is tracked`);
      }),
      { numRuns: 300 },
    );
  });
});

describe('TrendState capped mode', () => {
  it('1,000,000 distinct keys in one window: tracked keys stay at the cap, the heavy hitters are found within the bound', () => {
    const cap = 1000;
    const st = new TrendState({ ...TREND_DEFAULTS, sizeMs: 3_600_000, hopMs: 3_600_000, maxKeysPerWindow: cap, top: 5 });
    const heavy = ['北京', '上海', '马云'];
    const truth = new Map<string, number>(heavy.map((h) => [h, 0]));
    let maxTracked = 0;
    const N = 1_000_000;
    for (let i = 0; i < N; i++) {
      // every 50th record mentions a heavy key (about 6,700 each), all others a key never seen again
      const text = i % 50 === 0 ? heavy[(i / 50) % 3]! : `话题${i}`;
      if (i % 50 === 0) truth.set(text, truth.get(text)! + 1);
      st.add({ post_id: `p${i}`, created_at: i, mentions: [{ text, label: 'GPE.NAM', type: 'GPE', kind: 'NAM', start_utf16: 0, end_utf16: text.length }] });
      if (i % 10_000 === 0) maxTracked = Math.max(maxTracked, st.keysTracked);
    }
    maxTracked = Math.max(maxTracked, st.keysTracked);
    assert.equal(maxTracked, cap, 'never more keys than the cap');
    const [trend] = st.flush(0);
    assert.ok(trend !== undefined);
    assert.equal(trend.approximate, true);
    assert.equal(trend.mentions, N);
    assert.equal(trend.entities, cap);
    assert.ok(trend.error_bound <= N / cap, `error bound ${trend.error_bound} <= N/cap ${N / cap}`);
    const top = new Map(trend.top.map((e) => [e.text, e]));
    for (const [h, t] of truth) {
      const e = top.get(h);
      assert.ok(e !== undefined, `${h} is in the top list`);
      assert.ok(t <= e.mentions && e.mentions <= t + e.error && e.error <= trend.error_bound, `${h}: true ${t}, estimate ${e.mentions} ± ${e.error}`);
    }
  });
});

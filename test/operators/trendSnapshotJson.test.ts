// A TrendState snapshot taken while an announced source has delivered nothing,
// serialised to JSON (-Infinity becomes null) and restored: the watermark must
// still wait for that source, as the uninterrupted state does.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { TREND_DEFAULTS, TrendState, type TrendSnapshot } from '../../operators/trends/trendState.js';

const settings = { ...TREND_DEFAULTS, sizeMs: 10_000, hopMs: 10_000, latenessMs: 5_000 };
const BASE = Date.UTC(2024, 4, 1, 8);
const rec = (id: string, t: number) => ({ post_id: id, created_at: t, mentions: [], author_id: null });

it('an announced source without records survives a JSON snapshot: the watermark waits for it', () => {
  const run = (roundTrip: boolean) => {
    let st = new TrendState(settings);
    for (const p of ['0', '1', '2']) st.addSource(p);
    for (let i = 0; i < 100; i++) st.add(rec(`a${i}`, BASE + i * 500), '1');
    if (roundTrip) st = TrendState.restore(settings, JSON.parse(JSON.stringify(st.snapshot())) as TrendSnapshot);
    for (let i = 0; i < 100; i++) st.add(rec(`b${i}`, BASE + i * 500), '2');
    return { watermark: st.watermark, closed: st.close(0).length, first: st.add(rec('c', BASE), '0') };
  };
  assert.deepEqual(run(false), { watermark: -Infinity, closed: 0, first: 'counted' });
  assert.deepEqual(run(true), run(false));
});

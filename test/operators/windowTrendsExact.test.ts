// windowTrends against an offline count: 50,000 generated mention records arriving out of
// order (some beyond the lateness), hopping windows; every window's counts, every late
// record, computed here independently of the operator (no TrendState, no normaliseText).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import { Rng } from '../../models/rng.js';
import { windowTrends } from '../../operators/windowTrends.js';
import type { TrendInput, TrendMention } from '../../operators/trends/trendState.js';

const N = 50_000;
const SIZE = 6_000;
const HOP = 2_000;
const LATENESS = 500;
const T0 = 1_700_000_000_000;

/** Entities: [canonical text, label, surface variants the tagger might print]. */
const ENTITIES: Array<[string, string, string[]]> = [
  ['北京', 'GPE.NAM', ['北京']],
  ['上海', 'GPE.NAM', ['上海']],
  ['深圳', 'GPE.NAM', ['深圳']],
  ['北京', 'GPE.NOM', ['北京']],
  ['马云', 'PER.NAM', ['马云', ' 马云 ']],
  ['周杰伦', 'PER.NAM', ['周杰伦']],
  ['老板', 'PER.NOM', ['老板']],
  ['ibm', 'ORG.NAM', ['IBM', 'ＩＢＭ', 'ibm', 'Ibm']],
  ['腾讯', 'ORG.NAM', ['腾讯']],
  ['阿里巴巴', 'ORG.NAM', ['阿里巴巴']],
  ['外滩', 'LOC.NAM', ['外滩']],
  ['iphone 15', 'PRODUCT', ['iPhone 15', 'IPHONE  15', 'ｉＰｈｏｎｅ　15']],
];

function generate(seed: number): { arrivals: TrendInput[]; canonical: Map<TrendInput, number[]> } {
  const rng = new Rng(seed);
  const recs: Array<{ r: TrendInput; arrive: number }> = [];
  const canonical = new Map<TrendInput, number[]>();
  for (let i = 0; i < N; i++) {
    const t = T0 + i * 37 + rng.int(30); // ~30 minutes of posts
    const ids: number[] = [];
    const mentions: TrendMention[] = [];
    const n = rng.int(4); // 0..3 mentions
    for (let j = 0; j < n; j++) {
      // skewed: low indices more often
      const e = Math.min(rng.int(ENTITIES.length), rng.int(ENTITIES.length));
      const [, label, variants] = ENTITIES[e]!;
      const surface = variants[rng.int(variants.length)]!;
      const [type, kind] = label.split('.') as [string, string | undefined];
      mentions.push({ text: surface, label, type, kind: kind ?? 'UNKNOWN', start_utf16: j * 10, end_utf16: j * 10 + surface.length });
      ids.push(e);
    }
    const r: TrendInput = { post_id: `g${i}`, created_at: t, mentions };
    canonical.set(r, ids);
    // delivery delay up to 0.7 s against a lateness of 0.5 s, 5% up to 12 s: mostly in time, some late
    recs.push({ r, arrive: t + (rng.next() < 0.05 ? rng.int(12_000) : rng.int(700)) });
  }
  recs.sort((a, b) => a.arrive - b.arrive);
  return { arrivals: recs.map((x) => x.r), canonical };
}

/** The offline count: per window start, per entity index, [mentions, posts]; records per window; late post ids. */
function reference(arrivals: TrendInput[], canonical: Map<TrendInput, number[]>) {
  const windows = new Map<number, { records: number; counts: Map<number, [number, number]> }>();
  const late: string[] = [];
  let maxSeen = -Infinity;
  for (const r of arrivals) {
    const t = r.created_at;
    const watermark = maxSeen - LATENESS;
    const starts: number[] = [];
    for (let s = t - (t % HOP); s > t - SIZE; s -= HOP) if (s + SIZE > watermark) starts.push(s);
    if (starts.length === 0) {
      late.push(r.post_id);
      continue;
    }
    for (const s of starts) {
      let w = windows.get(s);
      if (w === undefined) windows.set(s, (w = { records: 0, counts: new Map() }));
      w.records++;
      const seen = new Set<number>();
      for (const e of canonical.get(r)!) {
        const c = w.counts.get(e) ?? [0, 0];
        c[0]++;
        if (!seen.has(e)) c[1]++;
        seen.add(e);
        w.counts.set(e, c);
      }
    }
    maxSeen = Math.max(maxSeen, t);
  }
  return { windows, late };
}

describe('windowTrends exactness', () => {
  it(`${N} out-of-order records: every window's counts equal the offline count, every late record is reported`, async () => {
    const { arrivals, canonical } = generate(15);
    const ref = reference(arrivals, canonical);
    const events = await lastValueFrom(
      from(arrivals).pipe(windowTrends({ windowMs: SIZE, hopMs: HOP, latenessMs: LATENESS, top: 100, maxKeysPerWindow: Infinity, now: () => 0 }), toArray()),
    );
    const late = events.flatMap((e) => (e.kind === 'late' ? [e.record.post_id] : []));
    assert.ok(late.length > 100, `the data must have late records, has ${late.length}`);
    assert.deepEqual(late, ref.late);
    const index = new Map(ENTITIES.map(([text, label], i) => [`${text}|${label}`, i]));
    const got = new Map<number, { records: number; counts: Map<number, [number, number]> }>();
    for (const e of events) {
      if (e.kind !== 'trend' || e.trend.records === 0) continue;
      const counts = new Map<number, [number, number]>();
      for (const x of e.trend.top) {
        const i = index.get(`${x.text}|${x.label}`);
        assert.ok(i !== undefined, `unexpected key ${x.text} ${x.label}`);
        assert.equal(counts.has(i), false, `${x.text} ${x.label} listed twice`);
        counts.set(i, [x.mentions, x.posts]);
        assert.equal(x.error, 0);
      }
      assert.equal(e.trend.approximate, false);
      got.set(e.trend.window_start, { records: e.trend.records, counts });
    }
    assert.equal(got.size, ref.windows.size);
    for (const [start, w] of ref.windows) assert.deepEqual(got.get(start), w, `window ${start}`);
    const total = [...ref.windows.values()].reduce((n, w) => n + [...w.counts.values()].reduce((m, c) => m + c[0], 0), 0);
    assert.ok(total > 3 * N, `hopping windows count each mention about 3 times: ${total}`);
  });
});

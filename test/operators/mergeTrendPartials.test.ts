// The merger of the scaled-out trends: waits for every partition (on virtual time), and the merge of
// N partition aggregators equals one aggregator over the same records (an independent single TrendState).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { map } from 'rxjs';
import { ConfigError } from '../../common/errors.js';
import { mergeTrendPartials, type PartialTrend } from '../../operators/mergeTrendPartials.js';
import { PartialMerger } from '../../operators/trends/mergePartials.js';
import { entityMentions, trendInputOf } from '../../operators/trends/rekey.js';
import { TrendState, type TrendSettings } from '../../operators/trends/trendState.js';
import { loadSchema, validate } from '../../schemas/registry.js';
import type { EntityTrend, Mention, PostMentions, TrendEntity } from '../../schemas/types.generated.js';
import { newScheduler } from './helpers.js';

function entity(text: string, mentions: number, extra: Partial<TrendEntity> = {}): TrendEntity {
  return { text, label: 'PER.NAM', type: 'PER', kind: 'NAM', mentions, error: 0, posts: mentions, authors: null, rank: 1, recent: [], trailing_avg: 0, ratio: null, is_new: false, is_rising: false, examples: [], ...extra };
}

function partial(start: number, records: number, top: TrendEntity[] = []): EntityTrend {
  return { window_start: start, window_end: start + 10, hop_ms: 10, lateness_ms: 0, records, mentions: top.reduce((n, e) => n + e.mentions, 0), entities: top.length, approximate: false, error_bound: 0, top, new_entities: [], rising: [], late_records: 0, watermark: start + 10, emitted_at: 0 };
}

const show = (t: EntityTrend): string => `${t.window_start} r=${t.records}${t.top.map((e) => ` ${e.text}=${e.mentions}#${e.rank}`).join('')}`;

describe('mergeTrendPartials', () => {
  const op = (partitions: number, top = 2) => (src: import('rxjs').Observable<PartialTrend>) => src.pipe(mergeTrendPartials({ partitions, top }), map(show));

  it('never: nothing; empty: completes', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<PartialTrend>('-').pipe(op(2))).toBe('-');
      expectObservable(cold<PartialTrend>('|').pipe(op(2))).toBe('|');
    });
  });

  it('a window is written when the last of its partitions reports it, with the union top k re-ranked', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const src = cold<PartialTrend>('-a--b--c-|', {
        a: { partition: 0, partial: partial(0, 3, [entity('甲', 5), entity('乙', 2)]) },
        b: { partition: 2, partial: partial(0, 1, [entity('丙', 4)]) },
        c: { partition: 1, partial: partial(0, 0) }, // empty: still reported
      });
      expectObservable(src.pipe(op(3))).toBe('-------x-|', { x: '0 r=4 甲=5#1 丙=4#2' });
    });
  });

  it('a partial of a later window says the partition has nothing for the earlier ones (skipped windows are empty there)', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const src = cold<PartialTrend>('-a-b-c----|', {
        a: { partition: 0, partial: partial(0, 1, [entity('甲', 1)]) },
        b: { partition: 0, partial: partial(10, 2, [entity('甲', 2)]) },
        c: { partition: 1, partial: partial(20, 5, [entity('乙', 5)]) }, // partition 1's first window
      });
      expectObservable(src.pipe(op(2))).toBe('-----(xy)-|', { x: '0 r=1 甲=1#1', y: '10 r=2 甲=2#1' });
    });
  });

  it('a partition outside 0..N-1 errors the stream; bad options are a ConfigError at construction', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<PartialTrend>('-a-', { a: { partition: 2, partial: partial(0, 1) } }).pipe(op(2))).toBe(
        '-#',
        undefined,
        new ConfigError('a partial trend names partition 2, but the merger expects 2 partitions (0-1)'),
      );
    });
    assert.throws(() => mergeTrendPartials({ partitions: 0, top: 1 }), ConfigError);
    assert.throws(() => mergeTrendPartials({ partitions: 2, top: 0 }), ConfigError);
  });

  it('early unsubscribe unsubscribes the source', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold<PartialTrend>('-a---', { a: { partition: 0, partial: partial(0, 1) } });
      expectObservable(src.pipe(op(1)), '^--!').toBe('-x-', { x: '0 r=1' });
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });

  it('a snapshot restored goes on as the original (waiting partials, progress, last written)', () => {
    const a = new PartialMerger(2, 3);
    a.add(partial(0, 1, [entity('甲', 1)]), 0);
    a.add(partial(10, 1, [entity('甲', 2)]), 0);
    const b = PartialMerger.restore(JSON.parse(JSON.stringify(a.snapshot())) as ReturnType<PartialMerger['snapshot']>, 2, 3);
    const next = partial(10, 4, [entity('乙', 4)]);
    assert.deepEqual(b.add(next, 1).map(show), a.add(next, 1).map(show));
    assert.deepEqual(a.add(partial(0, 9), 1), []); // written already: stale
    assert.equal(a.stale, 1);
    assert.throws(() => PartialMerger.restore(a.snapshot(), 3, 3), ConfigError);
  });
});

// --- exactness: N partition aggregators + merger vs one aggregator ---------------------------------

/** A deterministic generator (LCG), so that a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const LABELS = ['PER.NAM', 'ORG.NAM', 'GPE.NAM', 'GPE.NOM'];

/** Mention records over `entities` names, created_at mostly increasing with disorder up to `jitter` ms. */
function generate(n: number, entities: number, jitter: number, seed: number): PostMentions[] {
  const r = rng(seed);
  const out: PostMentions[] = [];
  for (let i = 0; i < n; i++) {
    const t = 1_700_000_000_000 + i * 7 - Math.floor(r() * jitter);
    const mentions: Mention[] = [];
    const k = Math.floor(r() * 4); // 0-3 mentions, repeats of an entity in one post included
    for (let j = 0; j < k; j++) {
      const e = Math.floor(r() ** 2 * entities); // skewed: some entities much more frequent
      const label = LABELS[e % LABELS.length]!;
      const [type, kind] = label.split('.') as [Mention['type'], Mention['kind']];
      const text = `实体${e}`;
      mentions.push({ text, label, type, kind, start: j * 5, end: j * 5 + text.length, start_utf16: j * 5, end_utf16: j * 5 + text.length, confidence: 1 });
    }
    out.push({ post_id: `p${i}`, created_at: t, origin: null, mentions, model: { id: 'm', version: '1' }, processed_at: t, latency_ms: null } as unknown as PostMentions);
  }
  return out;
}

/** A string hash for the partition of an entity key (any stable function will do: the merge does not depend on it). */
function partitionOf(key: string, n: number): number {
  let h = 0;
  for (const c of key) h = (Math.imul(h, 31) + c.codePointAt(0)!) | 0;
  return Math.abs(h) % n;
}

/** What must be equal: everything but the watermark, emitted_at and late_records (counted per entity record when split). */
function comparable(t: EntityTrend): unknown {
  const { watermark: _w, emitted_at: _e, late_records: _l, ...rest } = t;
  return rest;
}

describe('N partition aggregators + merger = one aggregator', () => {
  const settings: TrendSettings = { sizeMs: 600, hopMs: 200, latenessMs: 150, top: 4, historyWindows: 3, minCount: 2, risingRatio: 1.5, maxKeysPerWindow: Infinity, examples: 2, maxEmptyWindows: 60 };
  for (const [partitions, seed] of [
    [1, 1],
    [2, 2],
    [3, 3],
    [5, 4],
  ] as const) {
    it(`${partitions} partition(s), 6,000 records, disorder inside the lateness (seed ${seed})`, () => {
      const records = generate(6000, 60, 140, seed);
      const end = records.reduce((m, r) => Math.max(m, r.created_at), 0) + 10_000;
      const single = new TrendState(settings);
      const expected: EntityTrend[] = [];
      const states = Array.from({ length: partitions }, () => new TrendState(settings));
      const merger = new PartialMerger(partitions, settings.top);
      const actual: EntityTrend[] = [];
      const toPartition = (p: number, input: ReturnType<typeof trendInputOf>): void => {
        assert.equal(states[p]!.add(input, '0'), 'counted');
        for (const t of states[p]!.close(0)) actual.push(...merger.add(t, p));
      };
      for (const r of [...records, { ...records[0]!, post_id: 'end', created_at: end, mentions: [] }]) {
        assert.equal(single.add(r, '0'), 'counted');
        expected.push(...single.close(0));
        for (const e of entityMentions(r, { topic: 'mentions', partition: 0, offset: 0 })) toPartition(partitionOf(e.key, partitions), trendInputOf(e.value));
      }
      // the end record moves every partition's event time on (as an idle timeout does in Kafka mode)
      for (let p = 0; p < partitions; p++) toPartition(p, { post_id: 'end', created_at: end, mentions: [], countsRecord: false });
      assert.ok(expected.length > 150, `${expected.length} windows`);
      assert.ok(expected.some((t) => t.new_entities.length > 0) && expected.some((t) => t.rising.length > 0), 'new and rising entities occur');
      assert.ok(expected.some((t) => t.top.some((e) => e.posts < e.mentions)), 'posts mentioning an entity twice occur');
      assert.deepEqual(actual.map(comparable), expected.map(comparable));
      for (const t of actual) assert.deepEqual(validate(loadSchema('trends'), t), []);
    });
  }

  for (const withMarkers of [true, false]) {
    it(`4 partitions, one that no entity maps to: ${withMarkers ? 'progress markers (TrendState.advance) close its windows, the merge equals one aggregator' : 'without markers it holds the merger (nothing written)'}`, () => {
      const partitions = 4;
      const records = generate(3000, 60, 140, 7);
      const end = records.reduce((m, r) => Math.max(m, r.created_at), 0) + 10_000;
      const single = new TrendState(settings);
      const expected: EntityTrend[] = [];
      const states = Array.from({ length: partitions }, () => new TrendState(settings));
      const merger = new PartialMerger(partitions, settings.top);
      const actual: EntityTrend[] = [];
      const closeAll = (p: number): void => {
        for (const t of states[p]!.close(0)) actual.push(...merger.add(t, p));
      };
      const advance = (p: number, t: number): void => {
        states[p]!.advance(t, '0');
        closeAll(p);
      };
      let max = -Infinity;
      const entityRecords = [0, 0, 0, 0];
      records.forEach((r, i) => {
        assert.equal(single.add(r, '0'), 'counted');
        expected.push(...single.close(0));
        for (const e of entityMentions(r, { topic: 'mentions', partition: 0, offset: i })) {
          const p = partitionOf(e.key, partitions - 1); // partition 3 gets no entity record
          entityRecords[p]!++;
          assert.equal(states[p]!.add(trendInputOf(e.value), '0'), 'counted');
          closeAll(p);
        }
        max = Math.max(max, r.created_at);
        // the re-key stage's markers: every 50 records, the source's highest created_at to every partition
        if (withMarkers && i % 50 === 49) for (let p = 0; p < partitions; p++) advance(p, max);
      });
      single.add({ ...records[0]!, post_id: 'end', created_at: end, mentions: [] }, '0');
      expected.push(...single.close(0));
      // the end: as markers (or an idle timeout) move every partition on; partition 3 never had a record
      for (let p = 0; p < partitions - 1; p++) advance(p, end);
      if (withMarkers) advance(3, end);
      assert.equal(entityRecords[3], 0);
      assert.ok(entityRecords.slice(0, 3).every((n) => n > 0));
      assert.ok(expected.length > 50, `${expected.length} windows`);
      if (withMarkers) {
        assert.deepEqual(actual.map(comparable), expected.map(comparable));
      } else {
        assert.deepEqual(actual, [], 'the merger waits for partition 3 forever');
      }
    });
  }
});

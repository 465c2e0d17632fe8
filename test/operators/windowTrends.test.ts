// windowTrends: event-time windows, watermark, late side output, idle input, on virtual time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { map } from 'rxjs';
import { ConfigError } from '../../common/errors.js';
import { windowTrends, type TrendEvent, type WindowTrendsOptions } from '../../operators/windowTrends.js';
import { TrendState, type TrendInput, type TrendMention, type TrendSnapshot } from '../../operators/trends/trendState.js';
import { loadSchema, validate } from '../../schemas/registry.js';
import { newScheduler } from './helpers.js';

/** A mention of `text` with `label` (offsets are not read by the counts). */
function m(text: string, label = 'GPE.NAM'): TrendMention {
  const [type, kind] = label.split('.') as [string, string | undefined];
  return { text, label, type, kind: kind ?? 'UNKNOWN', start_utf16: 0, end_utf16: text.length };
}

/** A mention record of post `id` created at `t` (ms) mentioning `texts` (GPE.NAM unless "text/LABEL"). */
function rec(id: string, t: number, ...texts: string[]): TrendInput {
  return {
    post_id: id,
    created_at: t,
    mentions: texts.map((x) => {
      const [text, label] = x.split('/') as [string, string | undefined];
      return m(text, label);
    }),
  };
}

/** A trend event as one line: "[start,end) text=mentions ..." (top lists, type by type), or "late id". */
function show(e: TrendEvent): string {
  if (e.kind === 'late') return `late ${e.record.post_id} wm=${e.watermark}`;
  const t = e.trend;
  const top = t.top.map((x) => `${x.text}=${x.mentions}`).join(' ');
  return `[${t.window_start},${t.window_end}) r=${t.records}${top === '' ? '' : ` ${top}`}`;
}

function trends(opts: WindowTrendsOptions) {
  return (src: import('rxjs').Observable<TrendInput>) => src.pipe(windowTrends({ now: () => 0, ...opts }), map(show));
}

const SETTINGS = { sizeMs: 10, hopMs: 10, latenessMs: 0, top: 3, historyWindows: 2, minCount: 1, risingRatio: 2, maxKeysPerWindow: 10, examples: 1, maxEmptyWindows: 5 };

describe('windowTrends', () => {
  const tumbling = { windowMs: 10 };

  it('never: emits nothing', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold<TrendInput>('-');
      expectObservable(src.pipe(trends(tumbling))).toBe('-');
      expectSubscriptions(src.subscriptions).toBe('^');
    });
  });

  it('empty: completes without a window', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<TrendInput>('|').pipe(trends(tumbling))).toBe('|');
    });
  });

  it('tumbling, in order: a window closes when the watermark reaches its end, the last one at the end of input', () => {
    const recs = { a: rec('a', 1, '北京'), b: rec('b', 5, '北京', '上海'), c: rec('c', 12, '上海') };
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b-c-|', recs).pipe(trends(tumbling))).toBe('----x-(y|)', {
        x: '[0,10) r=2 北京=2 上海=1',
        y: '[10,20) r=1 上海=1',
      });
    });
  });

  it('a window closes on the watermark with no new record of its own', () => {
    // c belongs to [20,30) only; its created_at moves the watermark past [0,10) and [10,20)
    const recs = { a: rec('a', 3, '深圳'), b: rec('b', 14, '广州'), c: rec('c', 25, '杭州') };
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b---c-', recs).pipe(trends(tumbling))).toBe('--x---y-', {
        x: '[0,10) r=1 深圳=1',
        y: '[10,20) r=1 广州=1',
      });
    });
  });

  it('out of order inside the lateness: counted in its window, which closes lateness after its end', () => {
    // lateness 5: the watermark trails the largest created_at by 5
    const recs = { a: rec('a', 8, '北京'), b: rec('b', 13, '上海'), c: rec('c', 9, '北京'), d: rec('d', 2, '北京'), e: rec('e', 16, '上海') };
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abcde-', recs).pipe(trends({ ...tumbling, latenessMs: 5 }))).toBe('----x-', {
        x: '[0,10) r=3 北京=3',
      });
    });
  });

  it('a record before the first window, inside the lateness, is counted (no window has closed yet)', () => {
    const recs = { a: rec('a', 100, '北京'), b: rec('b', 95, '上海'), c: rec('c', 160, '深圳') };
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abc', recs).pipe(trends({ ...tumbling, latenessMs: 50 }))).toBe('--(xy)', {
        x: '[90,100) r=1 上海=1',
        y: '[100,110) r=1 北京=1',
      });
    });
  });

  it('late records: routed to the late output with the watermark, never counted', () => {
    const recs = { a: rec('a', 8, '北京'), b: rec('b', 16, '上海'), c: rec('c', 9, '北京'), d: rec('d', 11, '上海') };
    newScheduler().run(({ cold, expectObservable }) => {
      // b: watermark 11 closes [0,10); c (t=9) arrives after: late; d (t=11) is still in time for [10,20)
      expectObservable(cold('abcd|', recs).pipe(trends({ ...tumbling, latenessMs: 5 }))).toBe('-xy-(z|)', {
        x: '[0,10) r=1 北京=1',
        y: 'late c wm=11',
        z: '[10,20) r=2 上海=2',
      });
    });
    const st = new TrendState(SETTINGS);
    st.add(rec('a', 30));
    assert.equal(st.add(rec('b', 5)), 'late');
    assert.equal(st.lateRecords, 1);
  });

  it('empty windows between records are emitted (zeros for the page), a long gap only up to maxEmptyWindows', () => {
    const recs = { a: rec('a', 1, '北京'), b: rec('b', 35, '北京') };
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('ab 10ms |', recs).pipe(trends(tumbling))).toBe('-(xyz) 6ms (w|)', {
        x: '[0,10) r=1 北京=1',
        y: '[10,20) r=0',
        z: '[20,30) r=0',
        w: '[30,40) r=1 北京=1',
      });
    });
    const far = { a: rec('a', 1, '北京'), b: rec('b', 1_000_005, '北京') };
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('ab 10ms |', far).pipe(trends({ ...tumbling, maxEmptyWindows: 1 }))).toBe('-(xy) 7ms (w|)', {
        x: '[0,10) r=1 北京=1',
        y: '[10,20) r=0',
        w: '[1000000,1000010) r=1 北京=1',
      });
    });
  });

  it('hopping windows: a record counts in every window that overlaps it', () => {
    // size 10, hop 5: t=7 is in [0,10) and [5,15); t=12 in [5,15) and [10,20)
    const recs = { a: rec('a', 7, '北京'), b: rec('b', 12, '北京', '上海'), c: rec('c', 21, '上海') };
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b-c 10ms |', recs).pipe(trends({ windowMs: 10, hopMs: 5 }))).toBe('--x-(yz) 7ms (uv|)', {
        x: '[0,10) r=1 北京=1',
        y: '[5,15) r=2 北京=2 上海=1',
        z: '[10,20) r=1 上海=1 北京=1', // ties by text: 上 (U+4E0A) before 北 (U+5317)
        u: '[15,25) r=1 上海=1',
        v: '[20,30) r=1 上海=1',
      });
    });
  });

  it('idle input: with idleTimeoutMs the watermark moves on with the clock and closes the window', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      // the record at t=4 leaves the watermark at 4; each idle 4 ms adds 4: 8, then 12 >= 10 closes [0,10)
      // at 8 ms; while the input stays idle, the empty windows after it close as the clock passes them
      const src = cold('a---------', { a: rec('a', 4, '成都') });
      expectObservable(src.pipe(trends({ ...tumbling, idleTimeoutMs: 4, scheduler: ts })), '^ 20ms !').toBe('--------x-------y----', {
        x: '[0,10) r=1 成都=1',
        y: '[10,20) r=0',
      });
    });
  });

  it('without idleTimeoutMs an idle input closes nothing until its end', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      expectObservable(cold('a 50ms |', { a: rec('a', 4, '成都') }).pipe(trends({ ...tumbling, scheduler: ts }))).toBe('- 50ms (x|)', {
        x: '[0,10) r=1 成都=1',
      });
    });
  });

  it('several sources (partitions): the watermark is the smallest of theirs, so a source read ahead makes no record late', () => {
    const src = (r: TrendInput) => r.post_id.slice(0, 1); // A... / B...
    const recs = { a: rec('A1', 5, '北京'), c: rec('B1', 3, '上海'), b: rec('A2', 25, '北京'), d: rec('B2', 12, '上海') };
    newScheduler().run(({ cold, expectObservable }) => {
      // b moves A to 25, but B is at 3: nothing closes; d moves B to 12: [0,10) closes
      expectObservable(cold('acbd|', recs).pipe(trends({ ...tumbling, sourceOf: src }))).toBe('---x(yz|)', {
        x: '[0,10) r=2 上海=1 北京=1',
        y: '[10,20) r=1 上海=1',
        z: '[20,30) r=1 北京=1',
      });
      // one watermark over both: b closes [0,10) and [10,20) at once, and d is late
      expectObservable(cold('acb-----d-|', recs).pipe(trends(tumbling))).toBe('--(xy)--w-(z|)', {
        x: '[0,10) r=2 上海=1 北京=1',
        y: '[10,20) r=0',
        w: 'late B2 wm=25',
        z: '[20,30) r=1 北京=1',
      });
    });
  });

  it('several sources announced up front: the watermark waits for the first record of each', () => {
    const src = (r: TrendInput) => r.post_id.slice(0, 1);
    const recs = { b: rec('A2', 25, '北京'), c: rec('B1', 3, '上海'), d: rec('B2', 12, '上海') };
    newScheduler().run(({ cold, expectObservable }) => {
      // without `sources`, A's 25 would close [0,10) before B's first record (t=3) came, making it late
      expectObservable(cold('bcd|', recs).pipe(trends({ ...tumbling, sourceOf: src, sources: ['A', 'B'] }))).toBe('--x(yz|)', {
        x: '[0,10) r=1 上海=1',
        y: '[10,20) r=1 上海=1',
        z: '[20,30) r=1 北京=1',
      });
      expectObservable(cold('bcd|', recs).pipe(trends({ ...tumbling, sourceOf: src }))).toBe('-wv(z|)', {
        w: 'late B1 wm=25',
        v: 'late B2 wm=25',
        z: '[20,30) r=1 北京=1',
      });
    });
    assert.throws(() => windowTrends({ windowMs: 10, sources: ['A'] }), /sources must be an array of source names, with sourceOf/);
  });

  it('several sources: one silent for idleTimeoutMs is left out of the watermark until its next record', () => {
    const ts = newScheduler();
    const src = (r: TrendInput) => r.post_id.slice(0, 1);
    ts.run(({ cold, expectObservable }) => {
      const recs = { a: rec('A1', 5, '北京'), b: rec('B1', 3, '上海'), c: rec('A2', 25, '北京'), e: rec('A3', 26, '北京') };
      // B's last record came at 1 ms; at 11 ms it has been silent for 10: the watermark jumps to A's 26
      const input = cold('abc--------e', recs);
      expectObservable(input.pipe(trends({ ...tumbling, sourceOf: src, idleTimeoutMs: 10, scheduler: ts })), '^ 14ms !').toBe('-----------(xy)', {
        x: '[0,10) r=2 上海=1 北京=1',
        y: '[10,20) r=0',
      });
    });
  });

  it('error: open windows are dropped and the error passes through; unsubscribing cancels the idle timer', () => {
    const err = new Error('源头出错');
    const ts = newScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      expectObservable(cold('a#', { a: rec('a', 1, '北京') }, err).pipe(trends(tumbling))).toBe('-#', undefined, err);
      const src = cold('a-----', { a: rec('a', 1, '北京') });
      expectObservable(src.pipe(trends({ ...tumbling, idleTimeoutMs: 100, scheduler: ts })), '^--!').toBe('---');
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
    assert.equal(ts.actions.length, 0, 'the idle timer was cancelled');
  });

  it('a record with a created_at that is not a number errors the stream', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const bad = { ...rec('x', 0), created_at: Number.NaN };
      expectObservable(cold('a', { a: bad }).pipe(trends(tumbling))).toBe('#', undefined, new TypeError('created_at of post "x" is not a finite number: NaN'));
    });
  });

  it('keys: normalised text (NFKC, ASCII lowercase, spaces) and label; top lists per type', () => {
    const recs = {
      a: rec('a', 1, 'ＩＢＭ/ORG.NAM', 'ibm/ORG.NAM', ' IBM /ORG.NAM', '北京', '北京/GPE.NOM', '马云/PER.NAM'),
    };
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', recs).pipe(trends({ ...tumbling, top: 1 }))).toBe('-(x|)', {
        x: '[0,10) r=1 北京=1 ibm=3 马云=1', // GPE (北京 GPE.NAM before GPE.NOM by label), ORG, PER
      });
    });
  });

  it('posts count records, not mentions; authors where records carry them; examples newest first', () => {
    const out: TrendEvent[] = [];
    const recs: TrendInput[] = [
      { ...rec('p1', 1, '北京', '北京'), author_id: 'u1' },
      { ...rec('p2', 3, '北京'), author_id: 'u1' },
      { ...rec('p3', 2, '北京'), author_id: 'u2' },
    ];
    newScheduler().run(({ cold }) => {
      cold('abc|', { a: recs[0], b: recs[1], c: recs[2] }).pipe(windowTrends({ ...tumbling, examples: 2, now: () => 7 })).subscribe((e) => out.push(e));
    });
    assert.equal(out.length, 1);
    const t = out[0]!.kind === 'trend' ? out[0]!.trend : assert.fail('expected a trend');
    assert.equal(t.emitted_at, 7);
    const bj = t.top[0]!;
    assert.deepEqual([bj.mentions, bj.posts, bj.authors, bj.error], [4, 3, 2, 0]);
    assert.deepEqual(bj.examples.map((e) => e.post_id), ['p2', 'p3']);
  });

  it('new and rising: flagged against the previous windows once the history is full', () => {
    const opts = { windowMs: 10, historyWindows: 2, minCount: 2, risingRatio: 3, top: 5 };
    const recs: TrendInput[] = [
      rec('a', 1, '北京'), rec('b', 11, '北京'), // two windows of history: 北京 1 each
      rec('c', 21, '北京', '北京', '北京', '上海', '上海'), rec('d', 31),
    ];
    const out: TrendEvent[] = [];
    newScheduler().run(({ cold }) => {
      cold('abcd|', { a: recs[0], b: recs[1], c: recs[2], d: recs[3] }).pipe(windowTrends({ ...opts, now: () => 0 })).subscribe((e) => out.push(e));
    });
    const w = out.map((e) => (e.kind === 'trend' ? e.trend : assert.fail('no late record expected')));
    assert.equal(w.length, 4);
    assert.deepEqual(w[1]!.new_entities, [], 'history not full yet: nothing is new');
    const third = w[2]!;
    assert.deepEqual(third.new_entities.map((e) => e.text), ['上海']);
    assert.deepEqual(third.rising.map((e) => [e.text, e.trailing_avg, e.ratio, e.recent]), [['北京', 1, 3, [1, 1]]]);
    assert.equal(third.top.find((e) => e.text === '北京')!.is_rising, true);
  });

  it('capped: beyond maxKeysPerWindow the counts are Space-Saving estimates within the stated bound', () => {
    const texts = ['甲', '甲', '甲', '乙', '丙', '甲', '丁', '戊', '甲'];
    const out: TrendEvent[] = [];
    newScheduler().run(({ cold }) => {
      cold('a|', { a: rec('a', 1, ...texts) }).pipe(windowTrends({ windowMs: 10, maxKeysPerWindow: 2, top: 5, now: () => 0 })).subscribe((e) => out.push(e));
    });
    const t = out[0]!.kind === 'trend' ? out[0]!.trend : assert.fail();
    assert.equal(t.approximate, true);
    assert.equal(t.entities, 2);
    assert.equal(t.mentions, 9);
    assert.ok(t.error_bound <= t.mentions / 2);
    const jia = t.top.find((e) => e.text === '甲')!;
    assert.ok(jia.mentions >= 5 && jia.mentions - jia.error <= 5, `甲: ${jia.mentions} - ${jia.error}`);
  });

  it('snapshot and restore: a restored state goes on exactly as the one it was taken from', () => {
    const settings = { sizeMs: 10, hopMs: 5, latenessMs: 4, top: 10, historyWindows: 3, minCount: 1, risingRatio: 2, maxKeysPerWindow: 3, examples: 2, maxEmptyWindows: 10 };
    const words = ['北京', '上海', '深圳', '广州', '杭州'];
    // out of order by up to 12 ms; from record 120 on, 成都 in every record (rising)
    const recs = Array.from({ length: 200 }, (_, i) =>
      rec(`p${i}`, i * 2 - (i % 5) * 3, words[(i * 7) % 5]!, words[(i * 3) % 5]!, ...(i >= 120 || i % 10 === 0 ? ['成都'] : [])),
    );
    const run = (st: TrendState, rs: TrendInput[]) => rs.flatMap((r) => (st.add(r) === 'late' ? [] : st.close(0)));
    const whole = new TrendState(settings);
    const expected = [...run(whole, recs), ...whole.flush(0)];
    const first = new TrendState(settings);
    const before = run(first, recs.slice(0, 117));
    const restored = TrendState.restore(settings, JSON.parse(JSON.stringify(first.snapshot())));
    const after = [...run(restored, recs.slice(117)), ...restored.flush(0)];
    assert.deepEqual([...before, ...after], expected);
    for (const t of expected) assert.deepEqual(validate(loadSchema('trends'), t), [], 'every trend is a valid EntityTrend record');
    assert.ok(expected.some((t) => t.approximate) && expected.some((t) => t.rising.length > 0));
    assert.equal(restored.lateRecords, whole.lateRecords);
    assert.throws(() => TrendState.restore({ ...settings, sizeMs: 20 }, first.snapshot()), /made with sizeMs 10, not 20/);
  });

  it('options are checked at construction', () => {
    assert.throws(() => windowTrends({}), ConfigError);
    assert.throws(() => windowTrends({ windowMs: 0 }), /sizeMs must be an integer number of ms >= 1/);
    assert.throws(() => windowTrends({ windowMs: 10, hopMs: 20 }), /hopMs must be an integer number of ms >= 1 and <= sizeMs \(10\)/);
    assert.throws(() => windowTrends({ windowMs: 10, latenessMs: -1 }), /latenessMs/);
    assert.throws(() => windowTrends({ windowMs: 10, risingRatio: 1 }), /risingRatio must be a number > 1/);
    assert.throws(() => windowTrends({ windowMs: 10, idleTimeoutMs: 0 }), /idleTimeoutMs must be a number > 0/);
    const state = new TrendState(SETTINGS);
    assert.throws(() => windowTrends({ state, windowMs: 10 }), /with state, leave out windowMs/);
  });
});

describe('TrendState.advance (progress markers)', () => {
  it('moves a source\'s event time without counting: a state with only markers closes empty windows from the first marker\'s window', () => {
    const s = new TrendState({ ...SETTINGS, latenessMs: 5 });
    s.addSource('0');
    s.addSource('1');
    s.advance(23, '0');
    assert.deepEqual(s.close(0), [], 'source 1 has no event time yet');
    s.advance(47, '1');
    assert.equal(s.watermark, 18);
    s.advance(31, '0');
    assert.equal(s.watermark, 26);
    assert.deepEqual(s.close(0), [], '[20, 30) is still open');
    s.advance(36, '0');
    assert.equal(s.watermark, 31);
    const closed = s.close(0);
    assert.deepEqual(closed.map((t) => [t.window_start, t.records, t.mentions, t.top.length]), [[20, 0, 0, 0]], 'from the window of the first marker (23), empty');
    assert.equal(s.lateRecords, 0);
    // a record behind a marker but inside the lateness still counts; markers are never late
    assert.equal(s.add(rec('a', 33, '北京'), '0'), 'counted');
    s.advance(1, '0');
    assert.equal(s.lateRecords, 0);
    assert.throws(() => s.advance(Number.NaN, '0'), TypeError);
  });

  it('a state with only markers keeps its first marker\'s window through a JSON snapshot; a snapshot without progressFrom still restores', () => {
    const settings = { ...SETTINGS, latenessMs: 5 };
    const run = (snap: (s: TrendState) => TrendState): Array<[number, number]> => {
      let s = new TrendState(settings);
      s.addSource('0');
      s.addSource('1');
      s.advance(23, '0'); // source 1 has no event time yet: nothing closes
      assert.deepEqual(s.close(0), []);
      s = snap(s);
      s.advance(47, '1');
      s.advance(36, '0'); // watermark 31: [20, 30) closes, from the first marker's window
      return s.close(0).map((t) => [t.window_start, t.records]);
    };
    const json = (s: TrendState): TrendState => TrendState.restore(settings, JSON.parse(JSON.stringify(s.snapshot())) as TrendSnapshot);
    assert.deepEqual(run((s) => s), [[20, 0]]);
    assert.deepEqual(run(json), [[20, 0]]);
    // written before the field existed: restores, and starts its windows at the next marker's (36: [30, 40), not closed yet)
    const old = (s: TrendState): TrendState => {
      const { progressFrom: _p, ...rest } = JSON.parse(JSON.stringify(s.snapshot())) as TrendSnapshot;
      return TrendState.restore(settings, rest);
    };
    assert.deepEqual(run(old), []);
  });
});

// What the trends stages share (pipeline/stream/trendsOptions.ts): topic names, option checks
// at construction (ConfigError, before anything connects), the idle clock, the state encoding.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../common/errors.js';
import { TREND_DEFAULTS, TrendState, type TrendInput } from '../../operators/trends/trendState.js';
import { createLogger } from '../../pipeline/ops/logger.js';
import { startTrendsAggregate } from '../../pipeline/stream/trendsAggregate.js';
import { startTrendsMerge } from '../../pipeline/stream/trendsMerge.js';
import { startTrendsWorker } from '../../pipeline/stream/trendsWorker.js';
import { IdleClock, StateEncoder, decodeState, encodeState, stageEdgeOptions, trendTopicNames, type TrendsStageOptions } from '../../pipeline/stream/trendsOptions.js';

const logger = createLogger({ level: 'error' });
// a broker nobody listens on: a check that passed would try to connect (and fail with a KafkaEdgeError, not a ConfigError)
const stage: TrendsStageOptions = { connection: { brokers: ['127.0.0.1:1'], logger }, lateTopic: 'late', changelogTopic: 'cl', groupId: 'g', delivery: 'exactly-once', transactionalId: 't', logger };
const settings = { ...TREND_DEFAULTS, sizeMs: 1000, hopMs: 1000 };

describe('trends stage options', () => {
  it('topic names derive from the trends topic unless given', () => {
    assert.deepEqual(trendTopicNames('tr'), {
      trends: 'tr', late: 'tr.late', changelog: 'tr.changelog', repartition: 'tr.repartition', repartitionChangelog: 'tr.repartition.changelog', partials: 'tr.partials', deadLetter: 'tr.repartition.deadletter',
    });
    const given = trendTopicNames('tr', { late: 'L', repartition: 'R', deadLetter: undefined });
    assert.deepEqual([given.late, given.repartition, given.repartitionChangelog, given.deadLetter], ['L', 'R', 'R.changelog', 'R.deadletter']);
    assert.throws(() => trendTopicNames(' '), ConfigError);
  });

  it('checks the shared options and makes the edge options', () => {
    const edge = stageEdgeOptions({ ...stage, commitIntervalMs: 0 }, { fromTopic: 'in', states: 'one', stateKey: 'k' });
    assert.deepEqual([edge.fromTopic, edge.states, edge.stateKey, edge.commitIntervalMs, edge.changelogChunkBytes, edge.delivery], ['in', 'one', 'k', 0, 512 * 1024, 'exactly-once']);
    const bad: Array<[Partial<TrendsStageOptions>, RegExp]> = [
      [{ delivery: 'twice' as never }, /delivery must be/],
      [{ commitIntervalMs: -1 }, /commitIntervalMs/],
      [{ commitIntervalMs: Infinity }, /commitIntervalMs/],
      [{ changelogChunkBytes: 0 }, /changelogChunkBytes/],
      [{ lateTopic: '' }, /lateTopic/],
      [{ groupId: ' ' }, /groupId/],
      [{ transactionalId: undefined as never }, /transactionalId/],
    ];
    for (const [o, re] of bad) assert.throws(() => stageEdgeOptions({ ...stage, ...o }, { fromTopic: 'in', states: 'one', stateKey: 'k' }), (e: unknown) => e instanceof ConfigError && re.test(e.message), JSON.stringify(o));
    assert.throws(() => stageEdgeOptions(stage, { fromTopic: 'in', states: 'some' as never, stateKey: 'k' }), ConfigError);
  });

  it('each stage rejects bad options at construction with a ConfigError', async () => {
    await assert.rejects(startTrendsWorker({ ...stage, settings, fromTopic: 'in', toTopic: 'out', idleTimeoutMs: 0 }), (e: unknown) => e instanceof ConfigError && /idleTimeoutMs/.test(e.message));
    await assert.rejects(startTrendsWorker({ ...stage, settings, fromTopic: 'in', toTopic: 'out', commitIntervalMs: -5 }), ConfigError);
    await assert.rejects(startTrendsAggregate({ ...stage, settings, fromTopic: 'in', partialsTopic: 'p', sourcePartitions: 0 }), (e: unknown) => e instanceof ConfigError && /sourcePartitions/.test(e.message));
    await assert.rejects(startTrendsAggregate({ ...stage, settings, fromTopic: '', partialsTopic: 'p', sourcePartitions: 3 }), (e: unknown) => e instanceof ConfigError && /fromTopic/.test(e.message));
    await assert.rejects(startTrendsMerge({ ...stage, partialsTopic: 'p', toTopic: 'out', partitions: 3, top: 5, delivery: 'maybe' as never }), (e: unknown) => e instanceof ConfigError && /delivery/.test(e.message));
  });

  it('the idle clock: a silent source leaves the watermark; all silent, event time follows the clock', () => {
    const st = new TrendState(settings);
    st.addSource('0');
    st.addSource('1');
    const clock = new IdleClock(['0', '1'], 0, 500);
    const m = { text: '北京', label: 'GPE.NAM', type: 'GPE', kind: 'NAM', start_utf16: 0, end_utf16: 2 };
    st.add({ post_id: 'a', created_at: 10_000, mentions: [m] }, '0');
    clock.input(100);
    clock.saw('0', 100);
    clock.tick(st, 400);
    assert.equal(st.watermark, -Infinity, 'source 1 is awaited for its first record until idleMs');
    clock.tick(st, 500);
    assert.equal(st.watermark, 10_000 - settings.latenessMs, 'source 1 silent for 500 ms: left out');
    clock.tick(st, 550);
    assert.equal(st.watermark, 10_000 - settings.latenessMs, 'input 450 ms ago: event time stays');
    clock.tick(st, 1_600);
    assert.equal(st.watermark, 11_500 - settings.latenessMs, 'no input for idleMs: event time moves on by the 1,500 ms since the last input');
  });

  it('a state entry round-trips', () => {
    const snap = { version: 1, x: [1, 2, '三'] };
    assert.deepEqual(decodeState(encodeState(snap)), snap);
  });

  it('the StateEncoder writes what encodeState writes, re-encoding the windows counted in since the last entry', () => {
    const st = new TrendState({ ...settings, sizeMs: 2000, hopMs: 1000, historyWindows: 2 });
    const records: TrendInput[] = [];
    // what the entry must hold: a new state fed the records so far, with one snapshot
    const fresh = (): unknown => {
      const twin = new TrendState(st.settings);
      for (const r of records) {
        twin.add(r);
        twin.close(0);
      }
      return JSON.parse(JSON.stringify(twin.snapshot()));
    };
    const encoder = new StateEncoder();
    const mention = (text: string) => ({ text, label: 'PER.NAM', type: 'PER', kind: 'NAM', start_utf16: 0, end_utf16: 2 });
    // closes windows as it goes (history fills, windows leave), and adds to old windows and new ones in turn
    const times = [500, 1500, 900, 2500, 2100, 4200, 3900, 3950, 6100, 6000, 9000];
    times.forEach((t, i) => {
      const record = { post_id: `p${i}`, created_at: t, author_id: `a${i % 2}`, mentions: [mention(`张${i % 3}`), mention('李四')] };
      records.push(record);
      st.add(record);
      st.close(0);
      const snap = st.snapshot();
      const entry = encoder.encode(snap);
      assert.deepEqual(decodeState(entry), decodeState(encodeState(snap)), `after record ${i}`);
      assert.deepEqual(decodeState(entry), fresh(), `the state after record ${i}`);
      assert.deepEqual(TrendState.restore(st.settings, decodeState(entry)).snapshot(), snap, `restores after record ${i}`);
    });
    assert.ok(st.snapshot().history.length > 0 && st.snapshot().windows.length > 0);
  });
});

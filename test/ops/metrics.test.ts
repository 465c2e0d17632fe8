// Pipeline metrics: every metric registered with help text, helper methods update
// the right series, the exposition contains the names, tfjs gauges follow tf.memory().
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Registry } from 'prom-client';
import { ConfigError } from '../../common/errors.js';
import { createPipelineMetrics } from '../../pipeline/ops/metrics.js';
import { testBackend } from '../support/backend.js';

const NAMES = [
  'records_in_total',
  'records_out_total',
  'dead_letters_total',
  'batch_size',
  'batch_chars',
  'batch_latency_seconds',
  'tagging_seconds',
  'end_to_end_latency_seconds',
  'consumer_lag',
  'in_flight_records',
  'tfjs_tensors',
  'tfjs_bytes',
  'mentions_total',
];

/** The sample value of `name{labels}` in a Prometheus text exposition. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('createPipelineMetrics', () => {
  it('registers every metric with help text, plus the default process metrics', async () => {
    const m = createPipelineMetrics();
    const text = await m.registry.metrics();
    for (const name of NAMES) {
      assert.match(text, new RegExp(`^# HELP mentionflow_${name} \\S.{10,}`, 'm'), `${name} has a help line`);
      assert.match(text, new RegExp(`^# TYPE mentionflow_${name} `, 'm'));
    }
    // the process metrics under their standard names, as stock Node.js dashboards query them
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(text, /^process_resident_memory_bytes /m);
    assert.match(text, /^nodejs_heap_size_used_bytes /m);
    assert.doesNotMatch(text, /^mentionflow_(process|nodejs)_/m);
    assert.ok(m.registry.getSingleMetric('mentionflow_batch_size'));
  });

  it('uses a fresh registry by default, so two instances do not clash', () => {
    const a = createPipelineMetrics();
    const b = createPipelineMetrics();
    assert.notEqual(a.registry, b.registry);
  });

  it('honours prefix and collectDefault, and rejects a bad prefix', async () => {
    const registry = new Registry();
    const m = createPipelineMetrics({ registry, prefix: 'mf_', collectDefault: false });
    assert.equal(m.registry, registry);
    const text = await registry.metrics();
    assert.match(text, /^# TYPE mf_records_in_total counter/m);
    assert.doesNotMatch(text, /process_cpu/);
    assert.throws(() => createPipelineMetrics({ prefix: 'bad-prefix' }), ConfigError);
  });

  it('retainLag drops the lag series of partitions the worker no longer holds, of that topic only', async () => {
    const m = createPipelineMetrics({ collectDefault: false });
    for (const p of [0, 1, 2]) m.setLag('posts', p, 10 + p);
    m.setLag('other', 1, 5);
    m.retainLag('posts', [2]);
    let text = await m.registry.metrics();
    assert.equal(sample(text, 'mentionflow_consumer_lag{topic="posts",partition="0"}'), undefined);
    assert.equal(sample(text, 'mentionflow_consumer_lag{topic="posts",partition="1"}'), undefined);
    assert.equal(sample(text, 'mentionflow_consumer_lag{topic="posts",partition="2"}'), 12);
    assert.equal(sample(text, 'mentionflow_consumer_lag{topic="other",partition="1"}'), 5);
    m.setLag('posts', 0, 3); // assigned again later: reported again
    m.retainLag('posts', []);
    text = await m.registry.metrics();
    assert.doesNotMatch(text, /^mentionflow_consumer_lag\{topic="posts"/m);
  });

  it('histogram buckets: batch_size 1..512, latency in seconds', async () => {
    const m = createPipelineMetrics({ collectDefault: false });
    m.observeBatch(300, 9000, 0.02);
    const text = await m.registry.metrics();
    assert.equal(sample(text, 'mentionflow_batch_size_bucket{le="1"}'), 0);
    assert.equal(sample(text, 'mentionflow_batch_size_bucket{le="256"}'), 0);
    assert.equal(sample(text, 'mentionflow_batch_size_bucket{le="512"}'), 1);
    assert.equal(sample(text, 'mentionflow_batch_chars_sum'), 9000);
    assert.equal(sample(text, 'mentionflow_batch_latency_seconds_bucket{le="0.025"}'), 1);
    assert.equal(sample(text, 'mentionflow_batch_latency_seconds_bucket{le="0.01"}'), 0);
  });

  it('model_info shows only the model in service; model_swaps_total counts swaps and refusals from 0', async () => {
    const m = createPipelineMetrics({ collectDefault: false });
    let text = await m.registry.metrics();
    assert.equal(sample(text, 'mentionflow_model_swaps_total{result="swapped"}'), 0);
    assert.equal(sample(text, 'mentionflow_model_swaps_total{result="refused"}'), 0);
    m.setModel('ner', 'v1');
    m.setModel('ner', 'v2');
    m.modelSwap('swapped');
    m.modelSwap('refused');
    m.modelSwap('refused');
    text = await m.registry.metrics();
    assert.equal(sample(text, 'mentionflow_model_info{id="ner",version="v2"}'), 1);
    assert.ok(!text.includes('version="v1"'), 'the replaced model is gone from model_info');
    assert.equal(sample(text, 'mentionflow_model_swaps_total{result="swapped"}'), 1);
    assert.equal(sample(text, 'mentionflow_model_swaps_total{result="refused"}'), 2);
  });

  it('helpers update counters, gauges and histograms', async () => {
    const m = createPipelineMetrics({ collectDefault: false });
    m.recordIn('posts', 0);
    m.recordIn('posts', 0);
    m.recordIn('posts', 2);
    m.observeTagging(0.3);
    m.countMentions([
      { type: 'PER', kind: 'NAM', label: 'PER.NAM' },
      { type: 'PER', kind: 'NAM', label: 'PER.NAM' },
      { type: 'ORG', kind: 'NOM' },
      { type: 'UNKNOWN', kind: 'UNKNOWN', label: 'PRODUCT' },
    ]);
    m.recordOut('mentions', 1_000, 1_250);
    m.deadLetter('decode', 'DecodeError');
    m.recordOut('deadletter', 1_000, 3_000);
    m.setLag('posts', 2, 17);
    const text = await m.registry.metrics();
    assert.equal(sample(text, 'mentionflow_records_in_total{topic="posts",partition="0"}'), 2);
    assert.equal(sample(text, 'mentionflow_records_in_total{topic="posts",partition="2"}'), 1);
    assert.equal(sample(text, 'mentionflow_in_flight_records'), 1);
    assert.equal(sample(text, 'mentionflow_tagging_seconds_sum'), 0.3);
    assert.equal(sample(text, 'mentionflow_mentions_total{type="PER",kind="NAM",label="PER.NAM"}'), 2);
    assert.equal(sample(text, 'mentionflow_mentions_total{type="ORG",kind="NOM",label="ORG.NOM"}'), 1);
    assert.equal(sample(text, 'mentionflow_mentions_total{type="UNKNOWN",kind="UNKNOWN",label="PRODUCT"}'), 1);
    assert.equal(sample(text, 'mentionflow_records_out_total{output="mentions"}'), 1);
    assert.equal(sample(text, 'mentionflow_records_out_total{output="deadletter"}'), 1);
    assert.equal(sample(text, 'mentionflow_dead_letters_total{stage="decode",error_class="DecodeError"}'), 1);
    assert.equal(sample(text, 'mentionflow_end_to_end_latency_seconds_count'), 2);
    assert.equal(sample(text, 'mentionflow_end_to_end_latency_seconds_sum'), 2.25);
    assert.equal(sample(text, 'mentionflow_end_to_end_latency_seconds_bucket{le="0.25"}'), 1);
    assert.equal(sample(text, 'mentionflow_consumer_lag{topic="posts",partition="2"}'), 17);
  });

  it('per-record counts reach prom-client at every read, each record once', async () => {
    const m = createPipelineMetrics({ collectDefault: false });
    const value = async (metric: { get(): Promise<{ values: { value: number; labels: object }[] }> }, labels: object = {}) =>
      (await metric.get()).values.find((v) => JSON.stringify(v.labels) === JSON.stringify(labels))?.value;
    m.recordIn('posts', 1);
    m.recordIn('posts', 1);
    assert.equal(await value(m.recordsIn, { topic: 'posts', partition: '1' }), 2);
    assert.equal(await value(m.inFlight), 2);
    m.recordIn('posts', 1);
    m.recordIn('other', 0);
    m.recordOut('mentions', 0, 1);
    assert.equal(await value(m.recordsIn, { topic: 'posts', partition: '1' }), 3, 'read twice: counted once');
    assert.equal(await value(m.recordsIn, { topic: 'other', partition: '0' }), 1);
    assert.equal(await value(m.recordsOut, { output: 'mentions' }), 1);
    assert.equal(await value(m.inFlight), 3);
    const text = await m.registry.metrics();
    assert.equal(sample(text, 'mentionflow_records_in_total{topic="posts",partition="1"}'), 3);
    assert.equal(sample(text, 'mentionflow_records_out_total{output="mentions"}'), 1);
    assert.equal(sample(text, 'mentionflow_in_flight_records'), 3);
  });

  it('tfjs_tensors and tfjs_bytes read tf.memory() at scrape time', async () => {
    await testBackend();
    const m = createPipelineMetrics({ collectDefault: false });
    const before = tf.memory();
    const t = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    try {
      const text = await m.registry.metrics();
      assert.equal(sample(text, 'mentionflow_tfjs_tensors'), before.numTensors + 1);
      assert.equal(sample(text, 'mentionflow_tfjs_bytes'), before.numBytes + 6 * 4);
    } finally {
      t.dispose();
    }
    const after = await m.registry.metrics();
    assert.equal(sample(after, 'mentionflow_tfjs_tensors'), before.numTensors);
  });
});

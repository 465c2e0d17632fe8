// The trends metrics: the aggregator's, read from a TrendState at scrape time, and the scaled-out stages' (re-key, aggregate, merge).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrendState, TREND_DEFAULTS } from '../../operators/trends/trendState.js';
import { createAggregateMetrics, createMergeMetrics, createRekeyMetrics, createTrendMetrics } from '../../pipeline/ops/trendMetrics.js';

test('trend metrics: windows open and closed, late records, keys, state entries, watermark, restore time', async () => {
  const st = new TrendState({ ...TREND_DEFAULTS, sizeMs: 10, hopMs: 5 });
  const metrics = createTrendMetrics({ state: () => st, collectDefault: false });
  const text0 = await metrics.registry.metrics();
  assert.match(text0, /^mentionflow_trends_windows_open 0$/m);
  assert.match(text0, /^mentionflow_trends_watermark_seconds 0$/m, 'no watermark before the first record');
  const m = (text: string) => ({ text, label: 'GPE.NAM', type: 'GPE', kind: 'NAM', start_utf16: 0, end_utf16: text.length });
  st.add({ post_id: 'a', created_at: 7_000, mentions: [m('北京'), m('上海')] });
  st.add({ post_id: 'b', created_at: 21_000, mentions: [m('北京')] });
  const closedN = st.close(0).length;
  assert.ok(closedN > 0);
  metrics.closed(closedN);
  st.add({ post_id: 'c', created_at: 1_000, mentions: [] });
  metrics.restored(0.25);
  assert.match(await metrics.registry.metrics(), /^mentionflow_trends_changelog_entry_bytes 0$/m);
  metrics.stateWritten(1234);
  const text = await metrics.registry.metrics();
  assert.match(text, new RegExp(`^mentionflow_trends_windows_open ${st.openWindows}$`, 'm'));
  assert.ok(st.openWindows > 0);
  assert.match(text, new RegExp(`^mentionflow_trends_windows_closed_total ${closedN}$`, 'm'));
  assert.match(text, /^mentionflow_trends_late_records_total 1$/m);
  assert.match(text, new RegExp(`^mentionflow_trends_keys_tracked ${st.keysTracked}$`, 'm'));
  assert.ok(st.keysTracked > 0);
  assert.match(text, new RegExp(`^mentionflow_trends_state_entries\\{part="history"\\} ${st.historyKeys}$`, 'm'));
  assert.match(text, /^mentionflow_trends_watermark_seconds 21$/m);
  assert.match(text, /^mentionflow_trends_restore_seconds 0\.25$/m);
  assert.match(text, /^mentionflow_trends_changelog_entry_bytes 1234$/m);
  // the late counter only grows by what is new
  assert.match(await metrics.registry.metrics(), /^mentionflow_trends_late_records_total 1$/m);
});

test('scaled-out aggregator metrics: partitions owned, restores and restore time per partition, partials written', async () => {
  let owned = 0;
  const metrics = createAggregateMetrics({ owned: () => owned, collectDefault: false });
  assert.match(await metrics.registry.metrics(), /^mentionflow_trends_partitions_owned 0$/m);
  owned = 2;
  metrics.restored(0, 0.5);
  metrics.restored(2, 0.5);
  metrics.partialsWritten(0, 3);
  metrics.partialsWritten(0, 2);
  metrics.restored(0, 0.25); // a second join that kept partition 0
  metrics.dropped(2);
  owned = 1;
  const text = await metrics.registry.metrics();
  assert.match(text, /^mentionflow_trends_partitions_owned 1$/m);
  assert.match(text, /^mentionflow_trends_partition_restores_total\{partition="0"\} 2$/m);
  assert.match(text, /^mentionflow_trends_partition_restores_total\{partition="2"\} 1$/m);
  assert.match(text, /^mentionflow_trends_partition_restore_seconds\{partition="0"\} 0\.25$/m);
  assert.doesNotMatch(text, /^mentionflow_trends_partition_restore_seconds\{partition="2"\}/m, 'a partition that left has no restore time');
  assert.match(text, /^mentionflow_trends_partials_written_total\{partition="0"\} 5$/m);
  assert.match(text, /^mentionflow_trends_partials_written_total\{partition="2"\} 0$/m);
});

test('merger metrics: windows waiting (read at scrape time), emitted, wait time, restore time', async () => {
  let waiting = 4;
  const metrics = createMergeMetrics({ waiting: () => waiting, collectDefault: false });
  let text = await metrics.registry.metrics();
  assert.match(text, /^mentionflow_trends_merge_windows_waiting 4$/m);
  assert.match(text, /^mentionflow_trends_merge_restore_seconds 0$/m);
  waiting = 1;
  metrics.merged(0.2);
  metrics.merged(7);
  metrics.emitted(2);
  metrics.restored(0.125);
  text = await metrics.registry.metrics();
  assert.match(text, /^mentionflow_trends_merge_windows_waiting 1$/m);
  assert.match(text, /^mentionflow_trends_merge_windows_emitted_total 2$/m);
  assert.match(text, /^mentionflow_trends_merge_wait_seconds_count 2$/m);
  assert.match(text, /^mentionflow_trends_merge_wait_seconds_sum 7\.2$/m);
  assert.match(text, /^mentionflow_trends_merge_wait_seconds_bucket\{le="0\.25"\} 1$/m);
  assert.match(text, /^mentionflow_trends_merge_restore_seconds 0\.125$/m);
});

test('re-key metrics: records written by kind, transactions', async () => {
  const metrics = createRekeyMetrics({ collectDefault: false });
  let text = await metrics.registry.metrics();
  for (const kind of ['entity', 'progress', 'deadletter']) assert.match(text, new RegExp(`^mentionflow_trends_rekey_records_written_total\\{kind="${kind}"\\} 0$`, 'm'));
  metrics.written('entity', 10);
  metrics.written('progress', 3);
  metrics.written('entity', 1);
  metrics.transaction();
  metrics.transaction();
  text = await metrics.registry.metrics();
  assert.match(text, /^mentionflow_trends_rekey_records_written_total\{kind="entity"\} 11$/m);
  assert.match(text, /^mentionflow_trends_rekey_records_written_total\{kind="progress"\} 3$/m);
  assert.match(text, /^mentionflow_trends_rekey_records_written_total\{kind="deadletter"\} 0$/m);
  assert.match(text, /^mentionflow_trends_rekey_transactions_total 2$/m);
});

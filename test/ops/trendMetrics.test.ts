// The trends aggregator's metrics, read from a TrendState at scrape time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrendState, TREND_DEFAULTS } from '../../operators/trends/trendState.js';
import { createTrendMetrics } from '../../pipeline/ops/trendMetrics.js';

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

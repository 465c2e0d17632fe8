// The deploy kit's alert rules and Grafana dashboard against the worker's real
// metrics: every metric name their PromQL selects must be one that
// `mentionflow run` exports (its registry, createPipelineMetrics, as run
// builds it; and the archive sink's), so renaming a metric fails here.
// The rules are also checked and unit-tested with promtool where it is
// installed (Debian: apt-get install prometheus; .ci/run does).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Registry } from 'prom-client';
import { projectRoot } from '../../cli/defaults.js';
import { createArchiveMetrics } from '../../pipeline/ops/archiveMetrics.js';
import { createPipelineMetrics } from '../../pipeline/ops/metrics.js';
import {
  KAFKA_SKIP,
  createTestTopics,
  deleteTestTopics,
  inputRecords,
  kafkaBrokers,
  produceRecords,
  runArgs,
  saveTinyModel,
  spawnCli,
  waitUntil,
} from '../support/kafka.js';
import { dashboardQueries, promqlMetricNames, ruleQueries, unknownNames, type Query } from './promqlNames.js';

const root = projectRoot();
const ALERTS = join(root, 'deploy/prometheus/alerts.yml');
const ALERT_TESTS = join(root, 'deploy/prometheus/alerts.test.yml');
const DASHBOARD = join(root, 'deploy/grafana/dashboards/mentionflow.json');
/** Series Prometheus itself makes for every scrape target. */
const SCRAPE_SERIES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped'];

/** The series names a registry exposes (a histogram as its _bucket, _sum and _count). */
async function seriesNames(registry: Registry): Promise<string[]> {
  const names: string[] = [];
  for (const m of await registry.getMetricsAsJSON()) {
    const type = String(m.type);
    if (type === 'histogram') names.push(`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`);
    else if (type === 'summary') names.push(m.name, `${m.name}_sum`, `${m.name}_count`);
    else names.push(m.name);
  }
  return names;
}

async function exported(): Promise<Set<string>> {
  // as cli/commands/run.ts creates them with --metrics-port (collectDefault on)
  const worker = createPipelineMetrics({ collectDefault: true });
  const archive = createArchiveMetrics();
  return new Set([...(await seriesNames(worker.registry)), ...(await seriesNames(archive.registry)), ...SCRAPE_SERIES]);
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Parameters<typeof dashboardQueries>[0];
const alerts = ruleQueries(ALERTS);
const panels: Query[] = dashboardQueries(dashboard, 'mentionflow.json');

describe('PromQL metric names', () => {
  it('finds the metric names of an expression, not its functions, labels, keywords or durations', () => {
    const names = promqlMetricNames(
      'histogram_quantile(0.99, sum by (le) (rate(a_bucket{job=~"$job", x="y{z}"}[$__rate_interval]))) > 0.5 and on () b offset 30m unless ignoring (instance) c_total / d',
    );
    assert.deepEqual([...names].sort(), ['a_bucket', 'b', 'c_total', 'd']);
  });

  it('reads every alert rule expression of alerts.yml', () => {
    const rules = readFileSync(ALERTS, 'utf8').match(/^\s*- alert:/gm) ?? [];
    assert.equal(alerts.length, rules.length);
    assert.ok(alerts.length >= 5);
    for (const q of alerts) assert.ok(promqlMetricNames(q.expr).size > 0, `${q.where}: no metric in ${q.expr}`);
  });
});

describe('alerts and dashboard use only exported metric names', () => {
  it('every metric in the alert rules is exported by the worker', async () => {
    assert.deepEqual(unknownNames(alerts, await exported()), []);
  });

  it('every metric in the dashboard queries is exported by the worker', async () => {
    assert.ok(panels.length >= 20, `dashboard has ${panels.length} queries`);
    assert.deepEqual(unknownNames(panels, await exported()), []);
  });

  it('a renamed metric is reported (on either side)', async () => {
    const known = await exported();
    const renamedInQuery = panels.map((q) => ({ ...q, expr: q.expr.replaceAll('mentionflow_consumer_lag', 'mentionflow_consumer_lag_records') }));
    assert.ok(unknownNames(renamedInQuery, known).some((l) => l.startsWith('mentionflow_consumer_lag_records ')));
    const renamedInWorker = new Set([...known].filter((n) => n !== 'mentionflow_dead_letters_total'));
    assert.ok(unknownNames(alerts, renamedInWorker).some((l) => l.startsWith('mentionflow_dead_letters_total (')));
  });

  it('the dashboard covers throughput, lag per partition, latency percentiles, dead letters by reason, batch sizes, tensors and memory', () => {
    const used = new Set(panels.flatMap((q) => [...promqlMetricNames(q.expr)]));
    for (const name of [
      'mentionflow_records_in_total',
      'mentionflow_records_out_total',
      'mentionflow_consumer_lag',
      'mentionflow_end_to_end_latency_seconds_bucket',
      'mentionflow_dead_letters_total',
      'mentionflow_batch_size_bucket',
      'mentionflow_tfjs_tensors',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
    ]) {
      assert.ok(used.has(name), `dashboard queries ${name}`);
    }
    const lag = panels.find((q) => q.expr.includes('mentionflow_consumer_lag') && /by \(topic, partition\)/.test(q.expr));
    assert.ok(lag, 'a lag panel per partition');
    const reasons = panels.find((q) => q.expr.includes('mentionflow_dead_letters_total') && /by \(stage, error_class\)/.test(q.expr));
    assert.ok(reasons, 'dead letters by stage and error class');
    for (const q of ['0.5', '0.9', '0.99']) {
      assert.ok(panels.some((p) => p.expr.startsWith(`histogram_quantile(${q}, `) && p.expr.includes('end_to_end_latency')), `latency p${q}`);
    }
  });

  it('the dashboard is well formed: unique panel ids, panels on the 24-column grid without overlap, every query on the datasource variable', () => {
    type P = { id: number; type: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { uid?: string }; targets?: { datasource?: { uid?: string } }[] };
    const list = (dashboard as unknown as { panels: P[] }).panels;
    assert.equal(new Set(list.map((p) => p.id)).size, list.length, 'unique ids');
    const cells = new Set<string>();
    for (const p of list) {
      const { x, y, w, h } = p.gridPos;
      assert.ok(x >= 0 && w > 0 && x + w <= 24 && h > 0, `panel ${p.id} fits the grid`);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          assert.ok(!cells.has(`${i},${j}`), `panel ${p.id} overlaps another at ${i},${j}`);
          cells.add(`${i},${j}`);
        }
      }
      if (p.type !== 'row') for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, '${datasource}', `panel ${p.id}`);
    }
  });

  it('the alerts cover lag growing, dead-letter rate, worker down, p99 latency and tensor leaks', () => {
    const names = new Set(readFileSync(ALERTS, 'utf8').match(/(?<=- alert:\s*)\S+/g));
    for (const a of ['MentionflowConsumerLagGrowing', 'MentionflowDeadLetterRateHigh', 'MentionflowWorkerDown', 'MentionflowLatencyP99High', 'MentionflowTensorLeak']) {
      assert.ok(names.has(a), a);
    }
  });
});

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const noPromtool = promtool.error !== undefined || promtool.status !== 0 ? 'promtool not installed (Debian: apt-get install prometheus; .ci/run installs it)' : false;

describe('promtool', { skip: noPromtool }, () => {
  it('check rules: alerts.yml is valid', () => {
    const r = spawnSync('promtool', ['check', 'rules', ALERTS], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS: \d+ rules found/);
  });

  it('test rules: each alert fires on its failing series and stays silent on a healthy one', () => {
    const r = spawnSync('promtool', ['test', 'rules', ALERT_TESTS], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS/);
    // every alert of the rule file has at least one test that expects it to fire and one that expects silence
    const tests = readFileSync(ALERT_TESTS, 'utf8');
    for (const q of alerts) {
      const alert = q.where.split(': ').pop()!;
      const blocks = tests.split(/\n\s*- eval_time:/).filter((b) => new RegExp(`alertname: ${alert}\\b`).test(b));
      assert.ok(blocks.some((b) => /exp_alerts:\s*\n\s*- exp_labels/.test(b)), `${alert}: a test where it fires`);
      assert.ok(blocks.some((b) => /exp_alerts: \[\]/.test(b)), `${alert}: a test where it does not fire`);
    }
  });
});

/** The series names of a Prometheus text exposition (# TYPE lines; a histogram as its _bucket, _sum and _count). */
function scrapedNames(text: string): Set<string> {
  const names = new Set<string>(SCRAPE_SERIES);
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (m[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(m[1] + suffix);
    else if (m[2] === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(m[1] + suffix);
    else names.add(m[1]);
  }
  return names;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('a real `mentionflow run` scraped on --metrics-port', () => {
  it('exports every metric the alert rules and the dashboard query', { timeout: 180_000 }, async (t) => {
    const brokers = kafkaBrokers();
    if (brokers === undefined) return t.skip(KAFKA_SKIP);
    const model = await saveTinyModel(join(mkdtempSync(join(tmpdir(), 'mf-observability-')), 'model'));
    const topics = await createTestTopics(brokers, 'observability', 2);
    const port = await freePort();
    const worker = spawnCli(runArgs(brokers, topics, model, ['--metrics-port', String(port)]));
    try {
      await worker.waitForStderr(/"msg":"worker started"/, 60_000);
      await produceRecords(brokers, topics.input, inputRecords(40, 'obs', 10).records);
      let text = '';
      async function scrape(): Promise<void> {
        text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      }
      // until the outputs are acknowledged and an offset commit has set the lag
      const poll = setInterval(() => void scrape().catch(() => undefined), 250);
      try {
        await waitUntil(() => /^mentionflow_consumer_lag\{/m.test(text) && /^mentionflow_records_out_total\{output="mentions"\} [1-9]/m.test(text), 60_000, 'outputs and lag on /metrics', () => text.slice(-1500));
      } finally {
        clearInterval(poll);
      }
      const scraped = scrapedNames(text);
      assert.deepEqual(unknownNames([...alerts, ...panels], scraped), []);
      assert.match(text, /^process_resident_memory_bytes \d/m);
      assert.match(text, /^mentionflow_dead_letters_total\{stage="decode",error_class="\w+"\} [1-9]/m, 'the garbage records went to the dead-letter topic');
    } finally {
      worker.kill('SIGTERM');
      await worker.exited;
      await deleteTestTopics(brokers, topics);
    }
  });
});

// mentionflow trends, embedded mode: NDJSON mention records in, EntityTrend NDJSON out.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';
import { loadSchema, validate } from '../../schemas/registry.js';
import type { EntityTrend } from '../../schemas/types.generated.js';

const cli = join(projectRoot(), 'dist', 'cli', 'main.js');
const mention = (text: string, label: string) => {
  const [type, kind] = label.split('.');
  return { text, label, type, kind, start: 0, end: [...text].length, start_utf16: 0, end_utf16: text.length, confidence: 0.9 };
};
const record = (id: string, createdAt: number, ...mentions: ReturnType<typeof mention>[]) =>
  JSON.stringify({ post_id: id, created_at: createdAt, origin: null, mentions, model: { id: 'm', version: '1' }, processed_at: 0, latency_ms: null });

describe('mentionflow trends', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mf-trends-'));
  const file = join(dir, 'mentions.ndjson');
  const T = 1_700_000_040_000; // a whole minute
  writeFileSync(
    file,
    [
      record('1', T + 1_000, mention('北京', 'GPE.NAM'), mention('马云', 'PER.NAM')),
      record('2', T + 50_000, mention('北京', 'GPE.NAM')),
      record('3', T + 70_000, mention('上海', 'GPE.NAM')),
      '',
      '{"post_id": 4}',
      record('5', T + 200_000, mention('北京', 'GPE.NAM')),
      record('6', T + 2_000, mention('北京', 'GPE.NAM')), // its minute closed long ago: late
    ].join('\n'),
  );

  it('prints one EntityTrend per closed window (empty ones too), late records and bad lines on stderr', () => {
    const r = spawnSync(process.execPath, [cli, 'trends', '--input', file, '--window', '1m', '--lateness', '10s', '--top', '3'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const trends = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as EntityTrend);
    for (const t of trends) assert.deepEqual(validate(loadSchema('trends'), t), []);
    assert.deepEqual(
      trends.map((t) => [(t.window_start - T) / 60_000, t.records, t.top.map((e) => `${e.text}=${e.mentions}`).join(' ')]),
      [
        [0, 2, '北京=2 马云=1'],
        [1, 1, '上海=1'],
        [2, 0, ''],
        [3, 1, '北京=1'],
      ],
    );
    const stderr = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(stderr, [
      { invalid_line: 5, reason: 'post_id: expected a string' },
      { late: '6', created_at: T + 2_000, watermark: T + 190_000 },
    ]);
  });

  it('a bad option is one line and exit 2', () => {
    const r = spawnSync(process.execPath, [cli, 'trends', '--input', file, '--window', '5m', '--hop', '10m'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'mentionflow trends: --hop (600000 ms) must not exceed --window (300000 ms)\n');
    assert.equal(r.stdout, '');
  });

  it('Kafka mode: bad options are one line and exit 2, before any connection', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'trends', '--brokers', '127.0.0.1:1', ...args], { encoding: 'utf8' });
    const cases: Array<[string[], string]> = [
      [['--delivery', 'twice'], 'mentionflow trends: --delivery must be exactly-once or at-least-once, got "twice"\n'],
      [['--input', file], 'mentionflow trends: --input is the embedded mode: leave it out with --brokers\n'],
      [['--idle-timeout', '0'], 'mentionflow trends: --idle-timeout must be a duration of at least 1 ms such as 500ms, 30s, 5m, 1h (or a number of ms), got "0"\n'],
      [['--commit-interval', 'soon'], 'mentionflow trends: --commit-interval must be a duration of at least 0 ms such as 500ms, 30s, 5m, 1h (or a number of ms), got "soon"\n'],
      [['--stage', 'reduce'], 'mentionflow trends: --stage must be one of rekey, aggregate, merge, got "reduce"\n'],
      [['--stage', 'aggregate', '--repartition-partitions', '0'], 'mentionflow trends: --repartition-partitions must be an integer >= 1 <= 10000, got "0"\n'],
    ];
    for (const [args, stderr] of cases) {
      const r = run(...args);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, stderr);
    }
  });

  it('mentionflow run | mentionflow trends: the sample posts, with no Kafka', () => {
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${cli}" run 2>/dev/null | "${process.execPath}" "${cli}" trends --window 10m`], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const trends = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as EntityTrend);
    assert.ok(trends.length >= 2, r.stdout);
    assert.ok(trends.reduce((n, t) => n + t.records, 0) > 0 && trends.some((t) => t.top.length > 0));
  });
});

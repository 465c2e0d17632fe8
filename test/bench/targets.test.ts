/**
 * bench/all's table of targets (bench/targets.ts): each target judged met /
 * not met on its own side of the threshold, not measured when its part did
 * not run or its line could not be read, and the scripts' outputs read into
 * the right targets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PipelineResults } from '../../bench/pipelineReport.js';
import { TARGETS, fromArchive, fromJoint, fromLimits, fromPipeline, fromPrecision, fromSwap, fromTrends, meets, pipelineReported, renderTargets, targetRows, trendsReported } from '../../bench/targets.js';

const verdict = (id: string, value: number) => targetRows({ [id]: { value } }).find((r) => r.target.id === id)!.verdict;

test('each comparison holds on its own side of the threshold, boundary included for >= and <=, excluded for <', () => {
  assert.equal(verdict('identity-over-bare', 0.7), 'met');
  assert.equal(verdict('identity-over-bare', 0.6999), 'not met');
  assert.equal(verdict('identity-over-bare', 0.83), 'met');
  assert.equal(verdict('rss-growth', 1.1), 'met');
  assert.equal(verdict('rss-growth', 1.1001), 'not met');
  assert.equal(verdict('swap-inline', 1.999), 'met');
  assert.equal(verdict('swap-inline', 2), 'not met');
  assert.equal(verdict('p99-over-bound', 1), 'not met');
  assert.equal(verdict('joint-epochs', 12.8), 'met');
  assert.equal(verdict('joint-epochs', 31), 'not met');
  assert.equal(meets(Number.NaN, '>=', 0), false);
  assert.equal(meets(Number.POSITIVE_INFINITY, '<=', 1), false);
});

test('a target without a measurement, or with a non-finite one, is not measured; every target gets a row, in order', () => {
  const rows = targetRows({ 'archive-over-bare': { value: Number.NaN }, scaling: { value: 1.75 } });
  assert.deepEqual(
    rows.map((r) => r.target.id),
    TARGETS.map((t) => t.id),
  );
  assert.equal(rows.find((r) => r.target.id === 'archive-over-bare')!.verdict, 'not measured');
  assert.equal(rows.find((r) => r.target.id === 'scaling')!.verdict, 'met');
  assert.ok(rows.filter((r) => r.target.id !== 'scaling').every((r) => r.verdict === 'not measured'));
  const md = renderTargets(rows);
  assert.match(md, /\| 1\.750 \| met \| `node dist\/bench\/pipeline\.js --legs scaling/);
  assert.match(md, /not measured/);
});

test('pipeline results: ratios, the latency bound, RSS growth and the scaling ratio of 6 partitions', () => {
  const p = {
    ratios: { identityOverBare: 0.62, fullOverStandalone: 0.9, identityOverBarePaired: [0.55, 0.7, 0.61] },
    latencyBound: { load: 0.5, p99Ms: 150, batchMode: 'fixed', waitMs: 50, batchTaggingMs: 37.8, boundMs: 137.8, met: false },
    memory: { snapshots: [{ acked: 10_000, rss: 400 }, { acked: 500_000, rss: 420 }, { acked: 1_000_000, rss: 460 }], seconds: 1, posts: 1_000_000 },
    scaling: { byPartitions: [{ partitions: 3, ratio: 1.43 }, { partitions: 6, ratio: 1.75 }] },
  } as unknown as PipelineResults;
  const m = fromPipeline(p);
  assert.equal(m['identity-over-bare']?.value, 0.62);
  assert.match(m['identity-over-bare']?.detail ?? '', /0\.55-0\.70/);
  assert.ok(Math.abs(m['p99-over-bound']!.value - 150 / 137.8) < 1e-12);
  assert.ok(Math.abs(m['rss-growth']!.value - 460 / 400) < 1e-12);
  assert.equal(m.scaling?.value, 1.75);
  const rows = targetRows(m);
  const v = (id: string) => rows.find((r) => r.target.id === id)!.verdict;
  assert.equal(v('identity-over-bare'), 'not met');
  assert.equal(v('full-over-standalone'), 'met');
  assert.equal(v('p99-over-bound'), 'not met');
  assert.equal(v('rss-growth'), 'not met');
  assert.equal(v('scaling'), 'met');
  assert.equal(v('archive-over-bare'), 'not measured');
});

test('pipeline results with the codec variant: codec / bare and identity / codec are reported beside the targets, without one of their own', () => {
  const without = { ratios: { identityOverBare: 0.6 } } as unknown as PipelineResults;
  assert.equal(pipelineReported(without), undefined);
  const r = pipelineReported({ ratios: { identityOverBare: 0.6, codecOverBare: 0.7123, identityOverCodec: 0.8456 } } as unknown as PipelineResults);
  assert.ok(r);
  assert.equal(r.value, '0.712; 0.846');
  assert.match(r.command, /--variants bare,codec,identity/);
  assert.equal(TARGETS.some((t) => /codec/.test(t.id)), false);
  assert.match(renderTargets(targetRows({}), [r]), /Avro stages alone .*\| 0\.712; 0\.846 \|/);
});

test('limits: the useful rate of the worker batches (backlog) over the 1-core matMul rate', () => {
  const limits = {
    matmul: { oneCore: { gflops: 90 } },
    tagger: { oneCore: { batches: [{ name: 'batch 64', packed: { usefulGflops: 80 } }, { name: 'worker batches, backlog', packed: { usefulGflops: 33 } }] } },
  };
  assert.ok(Math.abs(fromLimits(limits)['useful-flops']!.value - 33 / 90) < 1e-12);
  assert.deepEqual(fromLimits({ matmul: { oneCore: { gflops: 90 } } }), {});
});

test('precision: the largest F1 change of each reduced precision against float32 is judged against 0.2; a refused precision is not measured', () => {
  const run = {
    precisions: {
      float32: { overall: 64.04, named: 53.54, nominal: 71.85 },
      bfloat16: { overall: 64.04, named: 53.54, nominal: 71.85 },
      int8: { overall: 63.7, named: 53.7, nominal: 71.69 },
    },
    changes: { bfloat16: { points: 0, group: 'overall' }, int8: { points: 0.34, group: 'overall' } },
  };
  const m = fromPrecision(run);
  assert.deepEqual(m['f1-bfloat16'], { value: 0, detail: 'overall 64.04 against 64.04' });
  assert.deepEqual(m['f1-int8'], { value: 0.34, detail: 'overall 63.70 against 64.04' });
  const verdicts = Object.fromEntries(targetRows(m).map((r) => [r.target.id, r.verdict]));
  assert.equal(verdicts['f1-bfloat16'], 'met');
  assert.equal(verdicts['f1-int8'], 'not met');
  const refused = fromPrecision({ precisions: { ...run.precisions, int8: { refused: 'mentionflow eval: precision int8 cannot run here: ...' } }, changes: { bfloat16: { points: 0, group: 'overall' }, int8: null } });
  assert.equal(refused['f1-int8'], undefined);
  assert.equal(targetRows(refused).find((r) => r.target.id === 'f1-int8')?.verdict, 'not measured');
  // the detail names the group the change is in
  assert.deepEqual(fromPrecision({ ...run, changes: { bfloat16: null, int8: { points: 0.16, group: 'named' } } })['f1-int8'], { value: 0.16, detail: 'named 53.70 against 53.54' });
  assert.deepEqual(fromPrecision({}), {});
});

test('the printed lines of archive, swapLatency, trends and jointEpoch are read into their targets', () => {
  const archive =
    '200000 posts (texts: weibo.dat), 5 runs, codec deflate, load average 4.50 4.00 3.00 at start, 5.00 4.00 3.00 at end\n' +
    '  bare kafkajs consume: 442746 posts/s (373475, 565325); CPU 2.12 us/record (1.78, 2.31)\n' +
    '  archive sink (this tree): 220176 posts/s (205515, 389761); ratio of medians 0.50 (per run 0.50, 0.43, 0.53, median 0.50); CPU 4.24 us/record (3.42, 4.69)\n';
  assert.deepEqual(fromArchive(archive)['archive-over-bare'], { value: 0.5, detail: 'runs 0.50, 0.43, 0.53' });
  assert.deepEqual(fromArchive('bare kafkajs consume: 1 posts/s'), {});
  // today's lines name the codec; with several codecs the deflate line is the target's
  const codecs =
    '  archive sink (this tree, null): 261572 posts/s (239002); ratio of medians 0.83 (per run 0.76, 0.75, median 0.76, interquartile 0.75-0.76); legs 3.82 s\n' +
    '  archive sink (this tree, deflate): 174939 posts/s (141926); ratio of medians 0.56 (per run 0.45, 0.43, median 0.44, interquartile 0.43-0.45); legs 5.72 s\n';
  assert.deepEqual(fromArchive(`1000000 posts (texts: weibo.dat), 5 runs\n${codecs}`)['archive-over-bare'], { value: 0.56, detail: 'runs 0.45, 0.43' });
  // on the bench's synthetic posts (no --text) the ratio is not the target's: not measured
  assert.deepEqual(fromArchive(`1000000 posts, 5 runs, codec deflate\n${codecs}`), {});

  const swap =
    '| inference | period ms | steady p50 / p99 ms | around a swap p50 / p99 ms | p99 ratio (target < 2x) | per-run ratios | promote -> serving ms | batches steady / around (per run) |\n' +
    '|---|---|---|---|---|---|---|---|\n' +
    '| inline | 70 | 40.1 / 72.0 | 55.0 / 269.0 | 3.74x | 3.74, 4.30, 1.82 | 294 | 200 / 60 |\n' +
    '| inline-baseline | 70 | 40.1 / 72.0 | 55.0 / 100.0 | 1.20x | 1.20 | 294 | 200 / 60 |\n' +
    '| thread | 70 | 40.1 / 108.0 | 55.0 / 195.0 | 1.73x | 1.79, 1.14, 1.73 | 221 | 200 / 60 |\n';
  const s = fromSwap(swap);
  assert.equal(s['swap-inline']?.value, 3.74);
  assert.equal(s['swap-thread']?.value, 1.73);
  const rows = targetRows(s);
  assert.equal(rows.find((r) => r.target.id === 'swap-inline')!.verdict, 'not met');
  assert.equal(rows.find((r) => r.target.id === 'swap-thread')!.verdict, 'met');

  const trends =
    '100000 records (200000 mentions), 5 runs, medians: bare kafkajs consume 1000000 mentions/s (900000 per CPU-s); trends 70000 mentions/s (80000 per CPU-s); ratio wall 0.07, per core 0.09\n' +
    'memory, 1000000 distinct keys, cap 10000: start 2.0 MiB; 100k: 11.5 MiB (10000 keys); 500k: 11.6 MiB (10000 keys); 1000k: 11.6 MiB (10000 keys)\n';
  assert.ok(Math.abs(fromTrends(trends)['trends-memory']!.value - 11.6 / 11.5) < 1e-12);
  assert.equal(trendsReported(trends)?.value, '0.09 (0.07)');
  assert.deepEqual(fromTrends('memory, 10 distinct keys, cap 10: start 2.0 MiB'), {});

  assert.equal(fromJoint({ thirtyEpochMinutes: 12.8, secondsPerEpoch: [25.1, 26.0] })['joint-epochs']?.value, 12.8);
});

// BucketHistogram: exposed exactly as prom-client's Histogram with the same name,
// help and buckets, for the same observations (text and JSON, after a reset too).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { ConfigError } from '../../common/errors.js';
import { BucketHistogram } from '../../pipeline/ops/bucketHistogram.js';

const BUCKETS = [0.005, 0.01, 0.05, 0.25, 1, 5];
const HELP = 'Time from an input record entering the pipeline to its output being acknowledged.';

function pair(): { ours: BucketHistogram; theirs: Histogram; a: Registry; b: Registry } {
  const a = new Registry();
  const b = new Registry();
  const ours = new BucketHistogram({ name: 'x_latency_seconds', help: HELP, buckets: BUCKETS, registers: [a] });
  const theirs = new Histogram({ name: 'x_latency_seconds', help: HELP, buckets: BUCKETS, registers: [b] });
  return { ours, theirs, a, b };
}

async function assertSame(a: Registry, b: Registry): Promise<void> {
  assert.equal(await a.metrics(), await b.metrics());
  assert.deepStrictEqual(await a.getMetricsAsJSON(), await b.getMetricsAsJSON());
}

describe('BucketHistogram', () => {
  it('exposes what prom-client exposes: no observations, bounds exactly, below, between and above every bucket', async () => {
    const { ours, theirs, a, b } = pair();
    await assertSame(a, b);
    for (const v of [0, 0.005, 0.0050001, 0.01, 0.2, 0.25, 1, 4.99, 5, 5.01, 1e6, -3]) {
      ours.observe(v);
      theirs.observe(v);
    }
    await assertSame(a, b);
    a.resetMetrics();
    b.resetMetrics();
    ours.observe(0.3);
    theirs.observe(0.3);
    await assertSame(a, b);
  });

  it('any sequence of values: the same exposition as prom-client', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.double({ min: -1, max: 10, noNaN: true }), fc.constantFrom(...BUCKETS)), { maxLength: 200 }), async (values) => {
        const { ours, theirs, a, b } = pair();
        for (const v of values) {
          ours.observe(v);
          theirs.observe(v);
        }
        await assertSame(a, b);
      }),
      { numRuns: 100 },
    );
  });

  it('rejects a non-finite value as prom-client does, and bad buckets at construction', () => {
    const { ours, theirs } = pair();
    for (const v of [NaN, Infinity]) {
      assert.throws(() => theirs.observe(v), TypeError);
      assert.throws(() => ours.observe(v), TypeError);
    }
    for (const buckets of [[], [1, 1], [2, 1], [1, Infinity], [NaN]]) {
      assert.throws(() => new BucketHistogram({ name: 'y', help: 'h', buckets, registers: [] }), ConfigError);
    }
  });

  it('a second metric of the same name in one registry is refused, as for prom-client metrics', () => {
    const { a } = pair();
    assert.throws(() => new BucketHistogram({ name: 'x_latency_seconds', help: HELP, buckets: BUCKETS, registers: [a] }));
  });
});

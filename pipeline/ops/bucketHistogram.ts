/**
 * A Prometheus histogram without labels for values observed once per record:
 * observe() finds the bucket and adds to three numbers, no allocation.
 * prom-client's Histogram.observe builds a label object and hashes it on every
 * call (about 0.3 us and 200 bytes); the end-to-end latency is observed once
 * per record. Registered in a prom-client Registry, it is exposed exactly as a
 * prom-client Histogram of the same name, help and buckets would be (text and
 * JSON; test/ops/bucketHistogram.test.ts compares the two).
 */
import type { Registry } from 'prom-client';
import { ConfigError } from '../../common/errors.js';

/** Options of {@link BucketHistogram}. */
export interface BucketHistogramOptions {
  name: string;
  help: string;
  /** Upper bounds of the buckets, increasing, finite (the +Inf bucket is implied). */
  buckets: readonly number[];
  /** Registries to register in. */
  registers: readonly Registry[];
}

/** One exposed sample, as prom-client's metrics give them (`exemplar` null on buckets, undefined on sum and count). */
export interface HistogramSample {
  value: number;
  metricName: string;
  exemplar: null | undefined;
  labels: { le?: number | '+Inf' };
}

export class BucketHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); values above the last bound are only in `count`. */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor({ name, help, buckets, registers }: BucketHistogramOptions) {
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]))) {
      throw new ConfigError(`histogram ${name}: buckets must be finite and increasing, got [${buckets.join(', ')}]`);
    }
    this.name = name;
    this.help = help;
    this.bounds = [...buckets];
    this.counts = new Float64Array(buckets.length);
    for (const registry of registers) registry.registerMetric(this as never);
  }

  /** Counts a value in the first bucket whose bound is >= it (as prom-client does); TypeError for a non-finite one. */
  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${String(value)}`);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    if (i < bounds.length) this.counts[i]++;
    this.sum += value;
    this.count++;
  }

  /** The metric as prom-client's Histogram.get() gives it: cumulative buckets, +Inf, sum and count. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; values: HistogramSample[]; aggregator: 'sum' }> {
    const bucket = `${this.name}_bucket`;
    let cumulative = 0;
    const values: HistogramSample[] = this.bounds.map((le, i) => {
      cumulative += this.counts[i];
      return { value: cumulative, metricName: bucket, exemplar: null, labels: { le } };
    });
    values.push(
      { value: this.count, metricName: bucket, exemplar: null, labels: { le: '+Inf' } },
      { value: this.sum, metricName: `${this.name}_sum`, exemplar: undefined, labels: {} },
      { value: this.count, metricName: `${this.name}_count`, exemplar: undefined, labels: {} },
    );
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Forgets every observation (Registry.resetMetrics). */
  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

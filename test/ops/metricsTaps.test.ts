// The worker's metric taps (pipeline/stream/metricsTaps.ts): what each tap hands to the metrics.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Item } from '../../operators/types.js';
import type { PipelineMetrics } from '../../pipeline/ops/metrics.js';
import { observeBatch } from '../../pipeline/stream/metricsTaps.js';
import type { Post } from '../../schemas/types.generated.js';
import { DecodeError } from '../../common/errors.js';

const ref = (receivedAt: number) => ({ topic: 't', partition: 0, offset: '0', receivedAt });
const ok = (text: string, receivedAt: number): Item<Post> =>
  ({ kind: 'ok', ref: ref(receivedAt), payload: null, value: { text } as Post }) as Item<Post>;
const failed = (receivedAt: number): Item<Post> => ({ kind: 'failed', ref: ref(receivedAt), payload: null, stage: 'decode', error: new DecodeError('x') });

describe('observeBatch', () => {
  it('counts code points (a surrogate pair once, a lone surrogate once), the batch size and the oldest wait', () => {
    const seen: Array<[number, number, number]> = [];
    const metrics = { observeBatch: (size: number, chars: number, seconds: number) => seen.push([size, chars, seconds]) } as unknown as PipelineMetrics;
    const tap = observeBatch(metrics, () => 10_000);
    // '吉𠮷野😀家' is 5 code points in 7 UTF-16 units; 'a\uD83D' 2; the failed item has no text to count
    tap([ok('吉𠮷野😀家', 9_000), ok('a\uD83D', 8_500), failed(7_000)]);
    assert.deepEqual(seen, [[3, 7, 3]]);
  });
});

/** withRetry (common/retry.ts): backoff with jitter, stop at once on a non-retriable error, bounded attempts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, KafkaEdgeError } from '../../common/errors.js';
import { withRetry, type RetryPolicy } from '../../common/retry.js';

/** A policy whose waits are recorded instead of slept. */
function recorded(policy: RetryPolicy = {}): { policy: RetryPolicy; waits: number[] } {
  const waits: number[] = [];
  return { waits, policy: { sleep: async (ms) => void waits.push(ms), random: () => 0.5, ...policy } };
}

const lost = () => new KafkaEdgeError('connection lost', { retriable: true });

test('retries a retriable failure until it succeeds, waiting longer each time up to maxDelayMs', async () => {
  const { policy, waits } = recorded({ retries: 5, initialDelayMs: 100, maxDelayMs: 300 });
  const attempts: number[] = [];
  const result = await withRetry(async (attempt) => {
    attempts.push(attempt);
    if (attempt < 4) throw lost();
    return 'ok';
  }, policy);
  assert.equal(result, 'ok');
  assert.deepEqual(attempts, [0, 1, 2, 3, 4]);
  assert.deepEqual(waits, [100, 200, 300, 300]);
});

test('stops at once on a non-retriable error', async () => {
  const { policy, waits } = recorded();
  let calls = 0;
  const denied = new KafkaEdgeError('SASL authentication failed', { retriable: false });
  await assert.rejects(
    withRetry(async () => {
      calls += 1;
      throw denied;
    }, policy),
    (err) => err === denied,
  );
  assert.equal(calls, 1);
  assert.deepEqual(waits, []);
  // Errors without a retriable flag are not retried either.
  calls = 0;
  await assert.rejects(withRetry(async () => {
    calls += 1;
    throw new Error('plain');
  }, policy), /plain/);
  assert.equal(calls, 1);
});

test('gives up after `retries` retries with the last error, and tells onRetry about each', async () => {
  const seen: Array<[number, number]> = [];
  const { policy } = recorded({ retries: 2, initialDelayMs: 10, onRetry: (_err, n, ms) => seen.push([n, ms]) });
  let calls = 0;
  await assert.rejects(
    withRetry(async () => {
      calls += 1;
      throw new KafkaEdgeError(`attempt ${calls}`, { retriable: true });
    }, policy),
    /attempt 3/,
  );
  assert.equal(calls, 3);
  assert.deepEqual(seen, [[1, 10], [2, 20]]);
});

test('jitter spreads each wait within ±jitter of the backoff', async () => {
  for (const [random, expected] of [[0, 80], [0.999999, 120]] as const) {
    const { policy, waits } = recorded({ retries: 1, initialDelayMs: 100, jitter: 0.2, random: () => random });
    await assert.rejects(withRetry(async () => Promise.reject(lost()), policy));
    assert.deepEqual(waits, [expected]);
  }
});

test('an aborted signal ends the retries with the last error', async () => {
  const abort = new AbortController();
  let calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls += 1;
        abort.abort();
        throw lost();
      },
      { signal: abort.signal, initialDelayMs: 60_000, maxDelayMs: 60_000 },
    ),
    /connection lost/,
  );
  assert.equal(calls, 1);
});

test('a malformed policy is a ConfigError', async () => {
  for (const bad of [{ retries: -1 }, { retries: 1.5 }, { jitter: 2 }, { multiplier: 0.5 }, { initialDelayMs: 500, maxDelayMs: 100 }]) {
    await assert.rejects(withRetry(async () => 1, bad), ConfigError, JSON.stringify(bad));
  }
});

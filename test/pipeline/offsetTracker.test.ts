import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { OffsetTracker } from '../../pipeline/core/offsetTracker.js';

const tp = (partition: number, topic = 'posts') => ({ topic, partition });
const at = (partition: number, offset: number | string, topic = 'posts') => ({ topic, partition, offset: String(offset) });

test('committable is the lowest offset still in flight, or one past the highest when none is', () => {
  const t = new OffsetTracker();
  assert.equal(t.committable(tp(0)), undefined);
  for (const o of [5, 6, 7]) assert.equal(t.track(at(0, o)), true);
  assert.equal(t.committable(tp(0)), '5');
  assert.equal(t.done(at(0, 6)), true);
  assert.equal(t.committable(tp(0)), '5');
  assert.equal(t.done(at(0, 5)), true);
  assert.equal(t.committable(tp(0)), '7');
  assert.equal(t.done(at(0, 7)), true);
  assert.equal(t.committable(tp(0)), '8');
  assert.equal(t.inFlight(), 0);
});

test('partitions are independent; gaps in offsets are fine', () => {
  const t = new OffsetTracker();
  t.track(at(0, 10));
  t.track(at(0, 20)); // gap: compaction or a transaction marker
  t.track(at(1, 0));
  t.track(at(0, 3, 'other'));
  t.done(at(0, 10));
  assert.equal(t.committable(tp(0)), '20');
  assert.equal(t.committable(tp(1)), '0');
  assert.equal(t.committable(tp(0, 'other')), '3');
  assert.equal(t.inFlight(tp(0)), 1);
  assert.equal(t.inFlight(), 3);
  assert.deepEqual(
    t.partitions().sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
    [tp(0, 'other'), tp(0), tp(1)],
  );
});

test('an offset not above the highest seen is refused (redelivery after a rebalance)', () => {
  const t = new OffsetTracker();
  t.track(at(0, 1));
  t.track(at(0, 2));
  t.done(at(0, 1));
  assert.equal(t.track(at(0, 1)), false, 'done but not committed');
  assert.equal(t.track(at(0, 2)), false, 'in flight');
  assert.equal(t.inFlight(), 1);
  assert.equal(t.track(at(0, 3)), true);
});

test('done() of an unknown, untracked or already done offset changes nothing', () => {
  const t = new OffsetTracker();
  assert.equal(t.done(at(0, 1)), false);
  t.track(at(0, 1));
  t.track(at(0, 3));
  assert.equal(t.done(at(0, 2)), false);
  assert.equal(t.done(at(0, 1)), true);
  assert.equal(t.done(at(0, 1)), false);
  assert.equal(t.inFlight(), 1);
  assert.equal(t.committable(tp(0)), '3');
});

test('pendingCommits lists partitions ahead of their last commit; markCommitted never goes back', () => {
  const t = new OffsetTracker();
  t.track(at(0, 0));
  t.track(at(1, 0));
  assert.deepEqual(t.pendingCommits(), [at(0, 0), at(1, 0)]);
  t.markCommitted([at(0, 0), at(1, 0)]);
  assert.deepEqual(t.pendingCommits(), []);
  t.done(at(0, 0));
  assert.deepEqual(t.pendingCommits(), [at(0, 1)]);
  t.markCommitted([at(0, 1)]);
  t.markCommitted([at(0, 0)]); // late, older commit
  assert.deepEqual(t.pendingCommits(), []);
  assert.equal(t.settled(), false, 'partition 1 has a record in flight');
  t.done(at(1, 0));
  assert.equal(t.settled(), false, 'partition 1 not committed yet');
  t.markCommitted(t.pendingCommits());
  assert.equal(t.settled(), true);
});

test('drop() forgets revoked partitions: their in-flight records stop counting and late acks are ignored', () => {
  const t = new OffsetTracker();
  t.track(at(0, 0));
  t.track(at(0, 1));
  t.track(at(1, 0));
  assert.equal(t.drop([tp(0), tp(7)]), 2);
  assert.equal(t.inFlight(), 1);
  assert.equal(t.done(at(0, 0)), false);
  assert.deepEqual(t.pendingCommits(), [at(1, 0)]);
  // When the partition comes back, tracking starts afresh from what is delivered.
  assert.equal(t.track(at(0, 0)), true);
  assert.equal(t.committable(tp(0)), '0');
});

test('drop() of the partition looked up last: a later ack or record of it is not credited to the dropped state', () => {
  const t = new OffsetTracker();
  t.track(at(1, 0));
  t.track(at(0, 5));
  t.track(at(0, 6));
  assert.equal(t.drop([tp(0)]), 2);
  assert.equal(t.done(at(0, 5)), false);
  assert.equal(t.tracks(tp(0)), false);
  assert.equal(t.track(at(0, 3)), true, 'a fresh start: offsets below the dropped ones are new again');
  assert.equal(t.done(at(0, 3)), true);
  assert.equal(t.committable(tp(0)), '4');
  assert.equal(t.inFlight(), 1);
});

test('markCommitted ignores partitions that are not tracked', () => {
  const t = new OffsetTracker();
  t.markCommitted([at(3, 10)]);
  assert.deepEqual(t.partitions(), []);
});

test('offsets beyond 2^53 are exact', () => {
  const t = new OffsetTracker();
  const big = '9007199254740993'; // 2^53 + 1
  t.track(at(0, big));
  t.done(at(0, big));
  assert.equal(t.committable(tp(0)), '9007199254740994');
});

test('a malformed offset is a RangeError', () => {
  const t = new OffsetTracker();
  assert.throws(() => t.track(at(0, '-1')), RangeError);
  assert.throws(() => t.track(at(0, '1.5')), RangeError);
});

test('long runs stay correct across the internal compaction', () => {
  const t = new OffsetTracker();
  for (let o = 0; o < 5000; o++) t.track(at(0, o));
  t.done(at(0, 4999));
  for (let o = 0; o < 4000; o++) t.done(at(0, o));
  assert.equal(t.committable(tp(0)), '4000');
  assert.equal(t.inFlight(), 999);
  for (let o = 4000; o < 4999; o++) t.done(at(0, o));
  assert.equal(t.committable(tp(0)), '5000');
  assert.equal(t.inFlight(), 0);
});

/**
 * Property: for any partitions, offsets (increasing, with gaps), and any order
 * of acknowledgements (some never), the committable offset of each partition
 * is exactly the lowest unacknowledged offset (or highest + 1), hence never
 * past a record whose output is not acknowledged, and it never moves back.
 */
test('property: committable = lowest unacknowledged offset, monotone, never past an unacked record', () => {
  const scenario = fc
    .array(
      fc.record({
        partition: fc.integer({ min: 0, max: 3 }),
        gap: fc.integer({ min: 1, max: 3 }),
      }),
      { minLength: 1, maxLength: 80 },
    )
    .chain((reads) =>
      fc.record({
        reads: fc.constant(reads),
        // A random order of acks over a random subset of the reads, interleaved with the reads.
        acks: fc.shuffledSubarray([...reads.keys()]),
        ackAfter: fc.array(fc.integer({ min: 0, max: reads.length - 1 }), { minLength: reads.length, maxLength: reads.length }),
      }),
    );
  fc.assert(
    fc.property(scenario, ({ reads, acks, ackAfter }) => {
      const t = new OffsetTracker();
      const next = new Map<number, number>();
      const offsets = reads.map(({ partition, gap }) => {
        const o = (next.get(partition) ?? 0) + gap - 1;
        next.set(partition, o + 1);
        return { partition, offset: o };
      });
      const acked = new Set<number>();
      const last = new Map<number, bigint>();
      const check = (readSoFar: number): void => {
        for (const partition of new Set(offsets.slice(0, readSoFar).map((r) => r.partition))) {
          const mine = offsets.slice(0, readSoFar).map((r, i) => ({ ...r, i })).filter((r) => r.partition === partition);
          const pending = mine.filter((r) => !acked.has(r.i)).map((r) => r.offset);
          const expected = pending.length > 0 ? Math.min(...pending) : Math.max(...mine.map((r) => r.offset)) + 1;
          const got = t.committable(tp(partition));
          assert.equal(got, String(expected));
          const g = BigInt(got as string);
          assert.ok(g >= (last.get(partition) ?? 0n), 'committable moved back');
          last.set(partition, g);
          assert.equal(t.inFlight(tp(partition)), pending.length);
        }
      };
      // Acks scheduled after read i happen right after it (when the read they ack has happened).
      const queue = acks.map((i) => ({ i, after: Math.max(i, ackAfter[i]) }));
      offsets.forEach((r, i) => {
        assert.equal(t.track(at(r.partition, r.offset)), true);
        check(i + 1);
        for (const a of queue.filter((q) => q.after === i)) {
          assert.equal(t.done(at(offsets[a.i].partition, offsets[a.i].offset)), true);
          acked.add(a.i);
          check(i + 1);
        }
      });
      assert.equal(t.inFlight(), reads.length - acked.size);
    }),
    { numRuns: 300 },
  );
});

test('offsets are compared by value whatever their spelling and size: leading zeros, 15 and 16+ digits, past 2^53', () => {
  const t = new OffsetTracker();
  const big = '9007199254740993'; // 2^53 + 1: a double would read 2^53
  for (const o of ['999999999999998', '999999999999999', '9007199254740992', big, '9223372036854775806']) assert.equal(t.track(at(0, o)), true);
  assert.equal(t.track(at(0, '0009007199254740993')), false, 'the same offset with leading zeros is not new');
  assert.equal(t.done(at(0, '0999999999999999')), true, 'done by value, spelled differently from track');
  assert.equal(t.committable(tp(0)), '999999999999998');
  assert.equal(t.done(at(0, '999999999999998')), true);
  assert.equal(t.committable(tp(0)), '9007199254740992');
  assert.equal(t.done(at(0, big)), true);
  assert.equal(t.done(at(0, '9007199254740992')), true);
  assert.equal(t.committable(tp(0)), '9223372036854775806');
  assert.equal(t.done(at(0, '9223372036854775806')), true);
  assert.equal(t.committable(tp(0)), '9223372036854775807');
  for (const bad of ['', '-1', '1e3', '12a', ' 7', '1.5', '１２']) assert.throws(() => t.track(at(1, bad)), RangeError, bad);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Subject, lastValueFrom, toArray } from 'rxjs';
import { writeCoalesced } from '../../pipeline/core/coalesce.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));

test('batches arriving during a write go out together in the next one, in order', async () => {
  const writes: number[][] = [];
  const pending: Array<ReturnType<typeof deferred>> = [];
  const input = new Subject<number[]>();
  const out = lastValueFrom(
    input.pipe(
      writeCoalesced<number>({
        write: (items) => {
          writes.push(items);
          const d = deferred();
          pending.push(d);
          return d.promise;
        },
      }),
      toArray(),
    ),
  );
  input.next([1, 2]);
  input.next([3]);
  input.next([]);
  input.next([4, 5]);
  assert.deepEqual(writes, [[1, 2]], 'one write at a time');
  pending[0].resolve();
  await tick();
  assert.deepEqual(writes, [[1, 2], [3, 4, 5]]);
  input.complete();
  pending[1].resolve();
  assert.deepEqual(await out, [[1, 2], [3, 4, 5]], 'completes after the queue is written');
});

test('maxItems and maxWeight split a write; one heavy item goes alone', async () => {
  const writes: string[][] = [];
  const input = new Subject<string[]>();
  const out = lastValueFrom(
    input.pipe(
      writeCoalesced<string>({ write: async (items) => void writes.push(items), maxItems: 3, weight: (s) => s.length, maxWeight: 4 }),
      toArray(),
    ),
  );
  input.next(['a', 'b', 'c', 'd', 'e']);
  input.next(['xxxxxx', 'f']);
  input.complete();
  await out;
  assert.deepEqual(writes, [['a', 'b', 'c'], ['d', 'e'], ['xxxxxx'], ['f']]);
});

test('a failed write errors the stream and nothing more is written', async () => {
  let calls = 0;
  const input = new Subject<number[]>();
  const out = lastValueFrom(
    input.pipe(
      writeCoalesced<number>({
        write: async () => {
          calls++;
          throw new Error('broker down');
        },
      }),
    ),
  );
  input.next([1]);
  input.next([2]);
  await assert.rejects(out, /broker down/);
  input.next([3]);
  await tick();
  assert.equal(calls, 1);
});

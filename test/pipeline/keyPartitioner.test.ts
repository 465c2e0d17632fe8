import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { keyPartitioner, murmur2 } from '../../pipeline/kafka/keyPartitioner.js';

const metadata = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0, offlineReplicas: [] }));

test('murmur2 matches the Java client on its published test vectors', () => {
  // org.apache.kafka.common.utils.UtilsTest#testMurmur2
  const vectors: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [key, want] of vectors) assert.equal(murmur2(Buffer.from(key)), want, key);
});

test('keyed records go to the partition kafkajs DefaultPartitioner picks, for random keys of every length mod 4 and partition counts 1-12', () => {
  const ours = keyPartitioner();
  const theirs = Partitioners.DefaultPartitioner();
  let checked = 0;
  for (let n = 1; n <= 12; n++) {
    const partitionMetadata = metadata(n);
    for (let i = 0; i < 400; i++) {
      const bytes = randomBytes(i % 41);
      // also string keys, non-ASCII included (both encode them as UTF-8)
      const key = i % 3 === 0 ? `post-${bytes.toString('base64')}-微博${i}` : bytes;
      const message = { key, value: null };
      assert.equal(ours({ topic: 't', partitionMetadata, message }), theirs({ topic: 't', partitionMetadata, message }), `key ${key.toString()} over ${n} partitions`);
      checked++;
    }
  }
  assert.equal(checked, 12 * 400);
});

test('an explicit partition wins; records without a key are spread over the partitions as the default partitioner does', () => {
  const ours = keyPartitioner();
  const partitionMetadata = metadata(4);
  assert.equal(ours({ topic: 't', partitionMetadata, message: { key: Buffer.from('k'), value: null, partition: 3 } }), 3);
  const seen = new Set<number>();
  for (let i = 0; i < 40; i++) seen.add(ours({ topic: 't', partitionMetadata, message: { key: null, value: null } }));
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3]);
});

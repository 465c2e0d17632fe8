/** A consumer group's committed offsets, read with an admin client of the worker's kafkajs client. */
import type { Kafka } from 'kafkajs';
import type { TopicPartition, TopicPartitionOffset } from '../core/offsetTracker.js';

/** The group's committed offset of each of `partitions` ('-1' where none is committed). */
export async function committedOffsets(kafka: Kafka, groupId: string, partitions: readonly TopicPartition[]): Promise<TopicPartitionOffset[]> {
  const topics = [...new Set(partitions.map((p) => p.topic))];
  const admin = kafka.admin();
  await admin.connect();
  try {
    const fetched = await admin.fetchOffsets({ groupId, topics });
    const byKey = new Map(fetched.flatMap((t) => t.partitions.map((p) => [`${t.topic}\u0000${p.partition}`, p.offset] as const)));
    return partitions.map((p) => ({ topic: p.topic, partition: p.partition, offset: byKey.get(`${p.topic}\u0000${p.partition}`) ?? '-1' }));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

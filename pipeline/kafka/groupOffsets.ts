/**
 * A consumer group's committed offsets, read through one admin client of the
 * worker's kafkajs client.
 *
 * Exactly-once claims every assigned partition at each group join, all at
 * once (TransactionalKafkaSink.claim), and each claim reads its partition's
 * committed offset. The reader keeps one admin connection for the worker's
 * life (connected on first use) and answers the reads that arrive in the same
 * tick with one OffsetFetch, so a join with N partitions costs one admin
 * connection and one request instead of N of each. A failed read drops the
 * connection (the next read reconnects) and rejects every read it answered;
 * callers retry (withBrokerRetry).
 */
import type { Admin, Kafka } from 'kafkajs';
import type { TopicPartition, TopicPartitionOffset } from '../core/offsetTracker.js';

interface PendingRead {
  partitions: readonly TopicPartition[];
  resolve: (offsets: TopicPartitionOffset[]) => void;
  reject: (err: unknown) => void;
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class GroupOffsetReader {
  private admin: Admin | undefined;
  private connecting: Promise<Admin> | undefined;
  private pending: PendingRead[] = [];
  private closed = false;
  /** OffsetFetch requests sent so far (each answers every read of one tick). */
  fetches = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
  ) {}

  /** The group's committed offset of each of `partitions` ('-1' where none is committed). */
  read(partitions: readonly TopicPartition[]): Promise<TopicPartitionOffset[]> {
    if (this.closed) return Promise.reject(new Error('the group offset reader is closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ partitions, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => void this.flush());
    });
  }

  /** Disconnects the admin client; later reads are refused. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drop();
  }

  private async flush(): Promise<void> {
    const reads = this.pending;
    this.pending = [];
    const topics = [...new Set(reads.flatMap((r) => r.partitions.map((p) => p.topic)))];
    try {
      const admin = await this.connected();
      this.fetches++;
      const fetched = await admin.fetchOffsets({ groupId: this.groupId, topics });
      const byKey = new Map(fetched.flatMap((t) => t.partitions.map((p) => [key(t.topic, p.partition), p.offset] as const)));
      for (const r of reads) {
        r.resolve(r.partitions.map((p) => ({ topic: p.topic, partition: p.partition, offset: byKey.get(key(p.topic, p.partition)) ?? '-1' })));
      }
    } catch (err) {
      await this.drop();
      for (const r of reads) r.reject(err);
    }
  }

  private connected(): Promise<Admin> {
    if (this.admin !== undefined) return Promise.resolve(this.admin);
    if (this.connecting === undefined) {
      const admin = this.kafka.admin();
      this.connecting = admin.connect().then(
        () => {
          this.connecting = undefined;
          if (this.closed) {
            void admin.disconnect().catch(() => undefined);
            throw new Error('the group offset reader is closed');
          }
          this.admin = admin;
          return admin;
        },
        (err: unknown) => {
          this.connecting = undefined;
          void admin.disconnect().catch(() => undefined);
          throw err;
        },
      );
    }
    return this.connecting;
  }

  private async drop(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    if (admin !== undefined) await admin.disconnect().catch(() => undefined);
  }
}

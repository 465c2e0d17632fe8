/**
 * The output edge for exactly-once delivery: a transactional kafkajs producer
 * (idempotent, one request in flight). Each write is one transaction holding
 * a group of output messages AND the input offsets they complete
 * (transaction.sendOffsets to the consumer group), so a read_committed reader
 * sees each output exactly once: either the outputs and the offset advance
 * are both committed, or neither is and the inputs are read again.
 *
 * Fencing: the transactional id is stable per worker. On connect the producer
 * registers it (InitProducerId), which aborts whatever transaction a previous
 * instance (e.g. one killed with kill -9) left open and fences that instance
 * off: if it is still alive, its next transaction fails with a fencing error
 * and it stops.
 *
 * A transaction that fails transiently (broker down or restarting) is
 * retried, on a fresh producer with the same transactional id, with backoff,
 * for as long as the outage bound allows (BrokerOutage). The fresh producer's
 * InitProducerId settles the failed transaction at the coordinator: an open
 * one is aborted, one whose commit the coordinator received is completed.
 * When the failure came after the commit was sent, the outcome is read back
 * from the consumer group's committed offsets (they advance in the same
 * transaction): committed, the group is done; not committed, it is written
 * again in a new transaction. Either way a read_committed reader sees each
 * output once. Any other failure (fencing included), or an outage past the
 * bound, ends the stream: the worker exits and its successor resumes from the
 * committed offsets.
 */
import type { OperatorFunction } from 'rxjs';
import type { Kafka, Producer } from 'kafkajs';
import { KafkaEdgeError } from '../../common/errors.js';
import type { OutputMessage } from '../../operators/types.js';
import type { Logger } from '../ops/logger.js';
import { writeCoalesced } from '../core/coalesce.js';
import type { TopicPartition, TopicPartitionOffset } from '../core/offsetTracker.js';
import type { OutputSink } from '../core/ports.js';
import { isFenced, kafkaEdgeError } from './errors.js';
import { withBrokerRetry, type BrokerOutage } from './outage.js';
import { DEFAULT_MAX_REQUEST_BYTES, messageBytes, topicMessages, type OutputTopics } from './sink.js';
import type { TransactionOffsets } from './source.js';

export interface TransactionalKafkaSinkOptions {
  kafka: Kafka;
  topics: OutputTopics;
  /** Unique per worker, stable across its restarts. */
  transactionalId: string;
  /** The source's offsets (KafkaSource.transactionOffsets()). */
  offsets: TransactionOffsets;
  /** The consumer group's committed offsets of these partitions (to learn whether an interrupted commit went through). */
  committedOffsets: (partitions: readonly TopicPartition[]) => Promise<TopicPartitionOffset[]>;
  /** The worker's outage clock: transient failures are retried within its bound. */
  outage: BrokerOutage;
  logger: Logger;
  /** Broker-side transaction timeout (ms); an open transaction of a dead worker is aborted after it. Default 60000. */
  transactionTimeoutMs?: number;
  /** Most value+key bytes per transaction (default 512 KiB). */
  maxRequestBytes?: number;
}

/** Offsets grouped by topic, as transaction.sendOffsets wants them. */
function offsetsByTopic(offsets: readonly TopicPartitionOffset[]): Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> {
  const by = new Map<string, Array<{ partition: number; offset: string }>>();
  for (const o of offsets) {
    const list = by.get(o.topic) ?? [];
    list.push({ partition: o.partition, offset: o.offset });
    by.set(o.topic, list);
  }
  return [...by].map(([topic, partitions]) => ({ topic, partitions }));
}

export class TransactionalKafkaSink implements OutputSink {
  private producer: Producer;
  private closing = false;
  private readonly log: Logger;

  constructor(private readonly opts: TransactionalKafkaSinkOptions) {
    if (typeof opts.transactionalId !== 'string' || opts.transactionalId.trim() === '') {
      throw new KafkaEdgeError('TransactionalKafkaSink: transactionalId must be a non-empty string, unique per worker');
    }
    this.log = opts.logger.child({ component: 'kafka-sink', transactionalId: opts.transactionalId });
    this.producer = this.newProducer();
  }

  private newProducer(): Producer {
    return this.opts.kafka.producer({
      transactionalId: this.opts.transactionalId,
      transactionTimeout: this.opts.transactionTimeoutMs ?? 60_000,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // CONCURRENT_TRANSACTIONS right after a commit clears within ~100 ms;
      // longer failures surface to commit()'s own retry (and its outage bound).
      retry: { initialRetryTime: 50, retries: 10, maxRetryTime: 1000 },
    });
  }

  /** Connects and registers the transactional id (InitProducerId): fences older instances, settles what they left open. */
  private async register(): Promise<void> {
    await this.producer.connect();
    const init = await this.producer.transaction(); // InitProducerId: fences and aborts the predecessor
    await init.abort(); // nothing was sent: ends locally
  }

  /**
   * Connects and registers the transactional id, fencing any older instance
   * and aborting the transaction it left open. Call before the consumer
   * fetches its committed offsets.
   */
  async connect(): Promise<void> {
    try {
      await this.register();
      this.log.info('transactional producer ready');
    } catch (err) {
      throw this.error('cannot initialise the transactional producer', err);
    }
  }

  write(): OperatorFunction<OutputMessage[], OutputMessage[]> {
    return writeCoalesced<OutputMessage>({
      write: (messages) => this.commit(messages),
      weight: messageBytes,
      maxWeight: this.opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
    });
  }

  /**
   * One transaction: the messages, then the offsets they complete, then
   * commit; retried as a whole on transient failures. Each attempt first
   * confirms that this worker still holds the partitions (after a pause or
   * an outage they may have moved to another worker, which reads them again
   * from the committed offsets): outputs of partitions that moved are
   * dropped, and only the offsets of partitions still held are committed.
   */
  private async commit(messages: OutputMessage[]): Promise<void> {
    const { offsets, topics } = this.opts;
    let pending: TopicPartitionOffset[] = [];
    let staged = false;
    let commitSent = false;
    try {
      await withBrokerRetry(
        `transaction of ${messages.length} output record(s)`,
        async () => {
          if (commitSent && (await this.committedAlready(pending))) return;
          commitSent = false;
          await offsets.confirm();
          for (;;) {
            const owned = messages.filter((m) => offsets.owns(m.ref));
            if (owned.length < messages.length) {
              this.log.info('outputs of partitions that moved to another worker are dropped', { dropped: messages.length - owned.length });
            }
            if (!staged) {
              offsets.stage(owned.map((m) => m.ref));
              staged = true;
            }
            pending = offsets.pending();
            const batch = topicMessages(owned, topics);
            if (batch.length === 0 && pending.length === 0) return;
            const txn = await this.producer.transaction();
            try {
              if (batch.length > 0) await txn.sendBatch({ topicMessages: batch, acks: -1 });
              if (pending.length > 0) await txn.sendOffsets({ consumerGroupId: offsets.groupId, topics: offsetsByTopic(pending) });
              // Once more right before the commit: a pause while the
              // transaction was being written may have moved partitions.
              if (await offsets.confirm()) {
                await txn.abort();
                continue;
              }
              commitSent = true;
              await txn.commit();
              return;
            } catch (err) {
              // After the commit was sent its outcome is unknown: the next
              // producer's registration settles it, committedAlready reads it.
              if (!commitSent && !isFenced(err)) await txn.abort().catch(() => undefined);
              throw err;
            }
          }
        },
        { outage: this.opts.outage, beforeRetry: () => this.replaceProducer(), stopped: () => this.closing },
      );
    } catch (err) {
      throw this.error(`transaction of ${messages.length} output record(s) failed`, err);
    }
    offsets.committed(pending);
  }

  /** Whether the group's committed offsets show that the transaction carrying `pending` committed. */
  private async committedAlready(pending: readonly TopicPartitionOffset[]): Promise<boolean> {
    if (pending.length === 0) {
      throw new KafkaEdgeError(
        'a transaction without input offsets was interrupted after its commit was sent, so whether it committed cannot be read back; ' +
          'stopping so that the next worker resumes from the committed offsets',
      );
    }
    const committed = new Map((await this.opts.committedOffsets(pending)).map((o) => [`${o.topic}\u0000${o.partition}`, BigInt(o.offset)]));
    const done = pending.every((p) => (committed.get(`${p.topic}\u0000${p.partition}`) ?? -1n) >= BigInt(p.offset));
    this.log.info('an interrupted commit was resolved', { committed: done, offsets: pending });
    return done;
  }

  /** A fresh producer with the same transactional id after a failed transaction. */
  private async replaceProducer(): Promise<void> {
    const old = this.producer;
    this.producer = this.newProducer();
    await old.disconnect().catch(() => undefined);
    await this.register();
  }

  private error(what: string, err: unknown): KafkaEdgeError {
    if (isFenced(err)) {
      return new KafkaEdgeError(
        `fenced: another worker registered transactional id "${this.opts.transactionalId}" (a newer instance of this worker, ` +
          `or two workers configured with the same --transactional-id), or this worker was unresponsive longer than its transaction timeout ` +
          `(${this.opts.transactionTimeoutMs ?? 60_000} ms) and the coordinator aborted its transaction; this one stops, its successor resumes from the committed offsets`,
        { cause: err },
      );
    }
    return kafkaEdgeError(what, err);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.producer.disconnect().catch((err: unknown) => {
      this.log.warn('producer disconnect failed', { err: kafkaEdgeError('disconnect', err) });
    });
  }
}

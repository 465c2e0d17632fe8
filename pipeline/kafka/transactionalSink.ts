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
 * and it stops. A failed transaction is aborted and ends the stream: the
 * worker exits and its successor resumes from the committed offsets.
 */
import type { OperatorFunction } from 'rxjs';
import type { Kafka, Producer } from 'kafkajs';
import { KafkaEdgeError } from '../../common/errors.js';
import type { OutputMessage } from '../../operators/types.js';
import type { Logger } from '../ops/logger.js';
import { writeCoalesced } from '../stream/coalesce.js';
import type { TopicPartitionOffset } from '../stream/offsetTracker.js';
import type { OutputSink } from '../stream/ports.js';
import { isFenced, kafkaEdgeError } from './errors.js';
import { DEFAULT_MAX_REQUEST_BYTES, messageBytes, topicMessages, type OutputTopics } from './sink.js';
import type { TransactionOffsets } from './source.js';

export interface TransactionalKafkaSinkOptions {
  kafka: Kafka;
  topics: OutputTopics;
  /** Unique per worker, stable across its restarts. */
  transactionalId: string;
  /** The source's offsets (KafkaSource.transactionOffsets()). */
  offsets: TransactionOffsets;
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
  private readonly producer: Producer;
  private readonly log: Logger;

  constructor(private readonly opts: TransactionalKafkaSinkOptions) {
    if (typeof opts.transactionalId !== 'string' || opts.transactionalId.trim() === '') {
      throw new KafkaEdgeError('TransactionalKafkaSink: transactionalId must be a non-empty string, unique per worker');
    }
    this.log = opts.logger.child({ component: 'kafka-sink', transactionalId: opts.transactionalId });
    this.producer = opts.kafka.producer({
      transactionalId: opts.transactionalId,
      transactionTimeout: opts.transactionTimeoutMs ?? 60_000,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // CONCURRENT_TRANSACTIONS right after a commit clears within ~100 ms; do not wait 300 ms for it.
      retry: { initialRetryTime: 50, retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5000 },
    });
  }

  /**
   * Connects and registers the transactional id, fencing any older instance
   * and aborting the transaction it left open. Call before the consumer
   * fetches its committed offsets.
   */
  async connect(): Promise<void> {
    try {
      await this.producer.connect();
      const init = await this.producer.transaction(); // InitProducerId: fences and aborts the predecessor
      await init.abort(); // nothing was sent: ends locally
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

  /** One transaction: the messages, then the offsets they complete, then commit. */
  private async commit(messages: OutputMessage[]): Promise<void> {
    const { offsets, topics } = this.opts;
    let txn;
    try {
      txn = await this.producer.transaction();
    } catch (err) {
      throw this.error('cannot begin a transaction', err);
    }
    try {
      await txn.sendBatch({ topicMessages: topicMessages(messages, topics), acks: -1 });
      const pending = offsets.stage(messages.map((m) => m.ref));
      if (pending.length > 0) await txn.sendOffsets({ consumerGroupId: offsets.groupId, topics: offsetsByTopic(pending) });
      await txn.commit();
      offsets.committed(pending);
    } catch (err) {
      if (!isFenced(err)) await txn.abort().catch(() => undefined);
      throw this.error(`transaction of ${messages.length} output record(s) failed and was aborted`, err);
    }
  }

  private error(what: string, err: unknown): KafkaEdgeError {
    if (isFenced(err)) {
      return new KafkaEdgeError(
        `fenced: another worker registered transactional id "${this.opts.transactionalId}" (a newer instance of this worker, ` +
          'or two workers configured with the same --transactional-id); this one stops',
        { cause: err },
      );
    }
    return kafkaEdgeError(what, err);
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch((err: unknown) => {
      this.log.warn('producer disconnect failed', { err: kafkaEdgeError('disconnect', err) });
    });
  }
}

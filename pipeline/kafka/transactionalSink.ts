/**
 * The output edge for exactly-once delivery: transactional kafkajs producers
 * (idempotent, one request in flight), one per input partition. Each write
 * of a partition's outputs is one transaction holding those output messages
 * AND the input offset they complete (transaction.sendOffsets to the
 * consumer group), so a read_committed reader sees each output exactly once:
 * either the outputs and the offset advance are both committed, or neither
 * is and the inputs are read again.
 *
 * Fencing, per input partition (Kafka's original exactly-once design, the
 * one Kafka Streams used before KIP-447): the transactional id of partition
 * P of topic T is `<prefix>-<T>-<P>`, whoever processes it. Before a worker
 * reads P (each time P is assigned to it) the source asks claim(T, P): a
 * fresh producer registers P's id (InitProducerId), which fences every
 * earlier producer of P, on any worker (their next transaction fails with a
 * fencing error), and settles the transaction the previous owner left: an
 * open one is aborted, one whose commit was sent is completed first. Only
 * then is P's committed offset read, and the source reads P from there. So
 * a worker that was frozen, cut off or slow long enough for P to move can no
 * longer commit P's offsets or outputs once P's new owner has claimed it,
 * and what it committed before that claim is seen by the new owner. This
 * holds whatever the group membership says and whatever the worker's name
 * is: pods restarted under new names (a Kubernetes Deployment) fence their
 * predecessors just as a restarted process does.
 *
 * A transaction that fails transiently (broker down or restarting) is
 * retried, on a fresh producer with the same transactional id, with backoff,
 * for as long as the outage bound allows (BrokerOutage). The fresh producer's
 * InitProducerId settles the failed transaction at the coordinator. Then the
 * partition's committed offset says what happened: at the offset this
 * transaction carries, it committed; at the offset this worker committed
 * before it, it did not and is written again; anywhere else another worker
 * committed P meanwhile (this one was cut off long enough for P to move, and
 * has just fenced P's new owner): the worker gives P up (its outputs are
 * dropped, the source claims P again and reads it from the committed
 * offset). Any other failure (fencing included), or an outage past the
 * bound, ends the stream: the worker exits and its successor resumes from
 * the committed offsets.
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
import { newProducer } from './producers.js';
import { withBrokerRetry, type BrokerOutage } from './outage.js';
import { DEFAULT_MAX_REQUEST_BYTES, messageBytes, topicMessages, type OutputTopics } from './sink.js';
import type { TransactionOffsets } from './source.js';

export interface TransactionalKafkaSinkOptions {
  kafka: Kafka;
  topics: OutputTopics;
  /**
   * Prefix of the transactional ids, one per input partition:
   * `<prefix>-<topic>-<partition>`. The same for every worker of a group
   * (default: the group id), and different from any other application's.
   */
  transactionalIdPrefix: string;
  /** The source's offsets (KafkaSource.transactionOffsets()). */
  offsets: TransactionOffsets;
  /** The consumer group's committed offsets of these partitions ('-1' where none is). */
  committedOffsets: (partitions: readonly TopicPartition[]) => Promise<TopicPartitionOffset[]>;
  /** The worker's outage clock: transient failures are retried within its bound. */
  outage: BrokerOutage;
  logger: Logger;
  /** Broker-side transaction timeout (ms); an open transaction of a dead worker is aborted after it. Default 60000. */
  transactionTimeoutMs?: number;
  /** Most value+key bytes per transaction (default 512 KiB). */
  maxRequestBytes?: number;
  /** Called once per committed transaction (for a metric); must not throw. */
  onCommitted?: (tp: TopicPartition) => void;
}

/** The transactional id of an input partition. */
export function partitionTransactionalId(prefix: string, topic: string, partition: number): string {
  return `${prefix}-${topic}-${partition}`;
}

const key = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

/** The producer of one input partition's transactions, and the offset this worker last saw committed there. */
interface PartitionWriter {
  readonly tp: TopicPartition;
  readonly transactionalId: string;
  producer: Producer;
  /** The partition's committed offset as this worker last knew it (after its claim, then after each of its commits). */
  committed: string;
  /** Transactions under way on the producer. */
  busy: number;
  /** Replaced by a newer claim: disconnected once its transaction under way ends. */
  retired: boolean;
}

/** One partition's share of a write: its outputs and the input offset they complete. */
interface PartitionWrite {
  tp: TopicPartition;
  messages: OutputMessage[];
  offset: TopicPartitionOffset | undefined;
}

export class TransactionalKafkaSink implements OutputSink {
  private readonly writers = new Map<string, PartitionWriter>();
  private closing = false;
  private readonly log: Logger;

  constructor(private readonly opts: TransactionalKafkaSinkOptions) {
    if (typeof opts.transactionalIdPrefix !== 'string' || opts.transactionalIdPrefix.trim() === '') {
      throw new KafkaEdgeError('TransactionalKafkaSink: transactionalIdPrefix must be a non-empty string');
    }
    this.log = opts.logger.child({ component: 'kafka-sink', transactionalIdPrefix: opts.transactionalIdPrefix });
    opts.offsets.claimWith((topic, partition) => this.claim({ topic, partition }));
  }

  private newProducer(transactionalId: string): Producer {
    return newProducer(this.opts.kafka, {
      transactionalId,
      transactionTimeoutMs: this.opts.transactionTimeoutMs,
      // CONCURRENT_TRANSACTIONS right after a commit clears within ~100 ms;
      // longer failures surface to commit()'s own retry (and its outage bound).
      retry: { initialRetryTime: 50, retries: 10, maxRetryTime: 1000 },
    });
  }

  /** Connects a producer and registers its transactional id (InitProducerId): fences older producers of the id, settles what they left open. */
  private async register(producer: Producer): Promise<void> {
    await producer.connect();
    const init = await producer.transaction(); // InitProducerId: fences and aborts the predecessor
    await init.abort(); // nothing was sent: ends locally
  }

  /** The partition's committed offset ('-1' where none is). */
  private async committedOffset(tp: TopicPartition): Promise<string> {
    const [committed] = await this.opts.committedOffsets([tp]);
    return committed?.offset ?? '-1';
  }

  /** Nothing to connect up front: each input partition's producer is registered when the source claims the partition. */
  async connect(): Promise<void> {
    this.log.info('transactional producers are registered per input partition as partitions are claimed');
    return Promise.resolve();
  }

  /**
   * Takes over input partition `tp` for this worker: a fresh producer
   * registers the partition's transactional id (fencing its previous
   * writers, settling their last transaction), then the partition's
   * committed offset is read. Resolves with that offset ('-1' where none is
   * committed): the source reads the partition from there.
   */
  async claim(tp: TopicPartition): Promise<string> {
    const transactionalId = partitionTransactionalId(this.opts.transactionalIdPrefix, tp.topic, tp.partition);
    const old = this.writers.get(key(tp));
    this.writers.delete(key(tp));
    if (old !== undefined) await this.retire(old);
    try {
      return await withBrokerRetry(
        `claiming ${tp.topic}[${tp.partition}]`,
        async () => {
          const producer = this.newProducer(transactionalId);
          try {
            await this.register(producer);
            const committed = await this.committedOffset(tp);
            if (this.closing) throw new KafkaEdgeError('the sink is closing');
            this.writers.set(key(tp), { tp, transactionalId, producer, committed, busy: 0, retired: false });
            this.log.info('input partition claimed', { topic: tp.topic, partition: tp.partition, transactionalId, committed });
            return committed;
          } catch (err) {
            await producer.disconnect().catch(() => undefined);
            throw err;
          }
        },
        { outage: this.opts.outage, stopped: () => this.closing },
      );
    } catch (err) {
      throw this.error(transactionalId, `cannot claim input partition ${tp.topic}[${tp.partition}]`, err);
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
   * Commits a group of outputs: one transaction per input partition they
   * come from (its outputs, then the input offset they complete), the
   * partitions' transactions in parallel. First confirms that this worker
   * still holds the partitions (after a pause or an outage they may have
   * moved to another worker, which reads them again from the committed
   * offsets): outputs of partitions that moved are dropped, and only the
   * offsets of partitions still held are committed.
   */
  private async commit(messages: OutputMessage[]): Promise<void> {
    const { offsets } = this.opts;
    try {
      await withBrokerRetry('confirming the group membership', () => offsets.confirm(), { outage: this.opts.outage, stopped: () => this.closing });
    } catch (err) {
      throw kafkaEdgeError(`transaction of ${messages.length} output record(s) failed`, err);
    }
    const owned = messages.filter((m) => offsets.owns(m.ref));
    if (owned.length < messages.length) {
      this.log.info('outputs of partitions that moved to another worker are dropped', { dropped: messages.length - owned.length });
    }
    offsets.stage(owned.map((m) => m.ref));
    const writes = new Map<string, PartitionWrite>();
    const writeOf = (tp: TopicPartition): PartitionWrite => {
      let w = writes.get(key(tp));
      if (w === undefined) {
        w = { tp: { topic: tp.topic, partition: tp.partition }, messages: [], offset: undefined };
        writes.set(key(tp), w);
      }
      return w;
    };
    for (const m of owned) writeOf(m.ref).messages.push(m);
    for (const o of offsets.pending()) writeOf(o).offset = o;
    await Promise.all([...writes.values()].map((w) => this.commitPartition(w)));
  }

  /**
   * One input partition's transaction: its outputs, then its input offset,
   * then commit; retried as a whole on transient failures (see the module
   * comment for how an interrupted commit is resolved).
   */
  private async commitPartition(write: PartitionWrite): Promise<void> {
    const { offsets, topics } = this.opts;
    const { tp, messages, offset } = write;
    const held = (): boolean => messages.every((m) => offsets.owns(m.ref)) && (offset === undefined || offsets.pending().some((o) => key(o) === key(tp)));
    let commitSent = false;
    let replaced = false;
    /** Whether this write's transaction committed (its offset then counts as committed). */
    let committed = false;
    let transactionalId = partitionTransactionalId(this.opts.transactionalIdPrefix, tp.topic, tp.partition);
    try {
      await withBrokerRetry(
        `transaction of ${messages.length} output record(s) of ${tp.topic}[${tp.partition}]`,
        async () => {
          if (replaced) {
            replaced = false;
            const outcome = await this.settled(tp, offset, commitSent);
            committed = outcome === 'committed';
            if (outcome !== 'not committed') return;
          }
          commitSent = false;
          for (;;) {
            if (!held()) return; // the partition moved: its new owner reads these inputs again
            const writer = this.writers.get(key(tp));
            if (writer === undefined) {
              throw new KafkaEdgeError(`internal: no producer claimed input partition ${tp.topic}[${tp.partition}] before its outputs were written`);
            }
            transactionalId = writer.transactionalId;
            const batch = topicMessages(messages, topics);
            if (batch.length === 0 && offset === undefined) return;
            writer.busy++;
            const txn = await writer.producer.transaction().catch((err: unknown) => {
              void this.done(writer);
              throw err;
            });
            try {
              if (batch.length > 0) await txn.sendBatch({ topicMessages: batch, acks: -1 });
              if (offset !== undefined) {
                await txn.sendOffsets({ consumerGroupId: offsets.groupId, topics: [{ topic: tp.topic, partitions: [{ partition: tp.partition, offset: offset.offset }] }] });
              }
              // Once more right before the commit: a pause while the
              // transaction was being written may have moved partitions.
              if (await offsets.confirm()) {
                await txn.abort();
                continue;
              }
              commitSent = true;
              await txn.commit();
              committed = true;
              this.opts.onCommitted?.(tp);
              if (offset !== undefined) writer.committed = offset.offset;
              return;
            } catch (err) {
              // A partition given up meanwhile (claimed again, its producer
              // replaced): whatever this transaction did, the new claim
              // settled it and read the committed offset after it.
              if (!held()) return;
              // Another worker claimed the partition after this one (which
              // was unresponsive or cut off meanwhile), or the coordinator
              // aborted this transaction after its timeout: nothing of it
              // is committed; the partition is given up (see giveUp).
              if (isFenced(err)) {
                await this.giveUp(writer, 'fenced: another worker claimed this input partition, or its transaction timed out', { err: kafkaEdgeError('transaction', err) });
                return;
              }
              // After the commit was sent its outcome is unknown: the next
              // producer's registration settles it, settled() reads it.
              if (!commitSent && !isFenced(err)) await txn.abort().catch(() => undefined);
              throw err;
            } finally {
              await this.done(writer);
            }
          }
        },
        {
          outage: this.opts.outage,
          beforeRetry: async () => {
            // Still ours? (Re-registering the partition's id would fence a new owner.)
            await offsets.confirm();
            if (!held()) return;
            if (offset === undefined && commitSent) {
              throw new KafkaEdgeError(
                `a transaction of ${tp.topic}[${tp.partition}] without its input offset was interrupted after its commit was sent, so whether it committed cannot be read back; ` +
                  'stopping so that the next worker resumes from the committed offsets',
              );
            }
            await this.replaceProducer(tp);
            replaced = true;
          },
          stopped: () => this.closing,
        },
      );
    } catch (err) {
      throw this.error(transactionalId, `transaction of ${messages.length} output record(s) of ${tp.topic}[${tp.partition}] failed`, err);
    }
    if (committed && offset !== undefined) offsets.committed([offset]);
  }

  /**
   * After a failed transaction of `tp` and a fresh registration of its
   * transactional id: what became of it. The committed offset tells: at
   * `offset`, the interrupted commit went through; at what this worker
   * committed before, it did not (write again); anywhere else, another
   * worker committed the partition meanwhile: this worker gives the
   * partition up (its outputs are the new owner's to write).
   */
  private async settled(tp: TopicPartition, offset: TopicPartitionOffset | undefined, commitSent: boolean): Promise<'committed' | 'not committed' | 'given up'> {
    const writer = this.writers.get(key(tp));
    if (writer === undefined) return 'given up'; // meanwhile
    const committed = await this.committedOffset(tp);
    if (offset !== undefined && commitSent && committed === offset.offset) {
      this.log.info('an interrupted commit was resolved', { topic: tp.topic, partition: tp.partition, committed: true, offset: committed });
      writer.committed = committed;
      return 'committed';
    }
    if (committed === writer.committed) {
      if (commitSent) this.log.info('an interrupted commit was resolved', { topic: tp.topic, partition: tp.partition, committed: false, offset: committed });
      return 'not committed';
    }
    await this.giveUp(writer, 'another worker committed this input partition meanwhile', { committed, expected: writer.committed });
    return 'given up';
  }

  /**
   * This worker lost a partition: its producer was fenced (another worker
   * claimed the partition after it, or the coordinator aborted its
   * transaction after the transaction timeout; nothing of that transaction
   * is committed), or another worker committed the partition meanwhile. The
   * worker gives the partition up (its outputs are dropped, what is in
   * flight there is dropped by the source) and carries on with its other
   * partitions; the source claims it again, reading it from the committed
   * offset, when the group assigns it to this worker again.
   */
  private async giveUp(writer: PartitionWriter, why: string, detail: Record<string, unknown>): Promise<void> {
    const { tp } = writer;
    if (this.writers.get(key(tp)) !== writer) return; // replaced by a newer claim already
    this.writers.delete(key(tp));
    this.log.warn(`${why}; giving it up (the source claims it again when the group assigns it, and reads it from the committed offset)`, {
      topic: tp.topic,
      partition: tp.partition,
      transactionalId: writer.transactionalId,
      ...detail,
    });
    await this.retire(writer);
    this.opts.offsets.release(tp);
  }

  /** A transaction on the writer's producer ended: a retired writer is disconnected once none is under way. */
  private async done(writer: PartitionWriter): Promise<void> {
    writer.busy--;
    if (writer.retired && writer.busy === 0) await writer.producer.disconnect().catch(() => undefined);
  }

  /** Retires a writer a newer claim (or giving the partition up) replaced: disconnected now, or once its transaction under way ends. */
  private async retire(writer: PartitionWriter): Promise<void> {
    writer.retired = true;
    if (writer.busy === 0) await writer.producer.disconnect().catch(() => undefined);
  }

  /** A fresh producer with the same transactional id after a failed transaction of `tp`. */
  private async replaceProducer(tp: TopicPartition): Promise<void> {
    const writer = this.writers.get(key(tp));
    if (writer === undefined) return;
    const old = writer.producer;
    writer.producer = this.newProducer(writer.transactionalId);
    await old.disconnect().catch(() => undefined);
    await this.register(writer.producer);
  }

  private error(transactionalId: string, what: string, err: unknown): KafkaEdgeError {
    if (isFenced(err)) {
      return new KafkaEdgeError(
        `fenced: another worker claimed input partition ${transactionalId.slice(this.opts.transactionalIdPrefix.length + 1)} (transactional id "${transactionalId}") ` +
          `while this one was unresponsive or cut off, or this worker was unresponsive longer than its transaction timeout ` +
          `(${this.opts.transactionTimeoutMs ?? 60_000} ms) and the coordinator aborted its transaction; this one stops, the partition's new owner resumes from the committed offsets`,
        { cause: err },
      );
    }
    return kafkaEdgeError(what, err);
  }

  async close(): Promise<void> {
    this.closing = true;
    const writers = [...this.writers.values()];
    this.writers.clear();
    await Promise.all(
      writers.map((w) =>
        w.producer.disconnect().catch((err: unknown) => {
          this.log.warn('producer disconnect failed', { transactionalId: w.transactionalId, err: kafkaEdgeError('disconnect', err) });
        }),
      ),
    );
  }
}

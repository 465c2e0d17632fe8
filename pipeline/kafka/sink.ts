/**
 * The output edge for at-least-once delivery: an idempotent kafkajs producer
 * (acks from all in-sync replicas, one request in flight per broker, so
 * kafkajs's own retries neither duplicate nor reorder records). Output
 * messages go to the mentions or the dead-letter topic; a group of them is
 * emitted downstream only once the broker has acknowledged every one, which
 * is what lets the source commit their input offsets.
 *
 * A write that fails transiently (broker down or restarting, leader moving)
 * is retried with backoff for as long as the outage bound allows
 * (BrokerOutage); meanwhile the group stays in flight and nothing behind it
 * is written. The retry uses the same idempotent producer, whose sequence
 * numbers let the broker drop records it already appended; a producer whose
 * id the broker no longer knows is replaced, and a retry on the new one can
 * duplicate what the lost attempt wrote: at-least-once. Any other failure,
 * or an outage past the bound, ends the stream.
 */
import type { OperatorFunction } from 'rxjs';
import type { Kafka, Producer, TopicMessages } from 'kafkajs';
import type { OutputMessage } from '../../operators/types.js';
import type { Logger } from '../ops/logger.js';
import { writeCoalesced } from '../core/coalesce.js';
import type { OutputSink } from '../core/ports.js';
import { kafkaEdgeError } from './errors.js';
import { newProducer } from './producers.js';
import { isProducerStateError, withBrokerRetry, type BrokerOutage } from './outage.js';

export interface OutputTopics {
  mentions: string;
  deadletter: string;
}

export interface KafkaSinkOptions {
  kafka: Kafka;
  topics: OutputTopics;
  logger: Logger;
  /** The worker's outage clock: transient write failures are retried within its bound. */
  outage: BrokerOutage;
  /** Most value+key bytes per produce request (default 512 KiB; below the broker's 1 MiB message.max.bytes). */
  maxRequestBytes?: number;
}

/** Largest produce request, in value+key bytes, unless configured. */
export const DEFAULT_MAX_REQUEST_BYTES = 512 * 1024;

/** Output messages grouped by topic for sendBatch. */
export function topicMessages(messages: readonly OutputMessage[], topics: OutputTopics): TopicMessages[] {
  const by = new Map<string, TopicMessages>();
  for (const m of messages) {
    const topic = topics[m.output];
    let entry = by.get(topic);
    if (entry === undefined) {
      entry = { topic, messages: [] };
      by.set(topic, entry);
    }
    entry.messages.push(m.partition === undefined ? { key: m.key, value: m.value } : { key: m.key, value: m.value, partition: m.partition });
  }
  return [...by.values()];
}

/**
 * Bytes a record takes in a Kafka record batch besides its key and value
 * (batch header, record header and length varints), rounded up: what a
 * topic's max.message.bytes has to hold beyond them.
 */
export const RECORD_OVERHEAD_BYTES = 128;

/** Size of a message in a record batch (key, value and record overhead), for request sizing. */
export function messageBytes(m: OutputMessage): number {
  return m.value.length + (m.key?.length ?? 0) + RECORD_OVERHEAD_BYTES;
}

/**
 * The producer settings of the at-least-once sink; kafkajs retries a request a few times before the sink's own retry takes over.
 * Records are partitioned by key exactly as kafkajs's default partitioner does, without its per-key Long arithmetic.
 */
function idempotentProducer(kafka: Kafka): Producer {
  return newProducer(kafka, { retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 } });
}

export class KafkaSink implements OutputSink {
  private producer: Producer;
  private closing = false;

  constructor(private readonly opts: KafkaSinkOptions) {
    this.producer = idempotentProducer(opts.kafka);
  }

  /** Connects and obtains the producer id (idempotence). */
  async connect(): Promise<void> {
    try {
      await this.producer.connect();
    } catch (err) {
      throw kafkaEdgeError('cannot connect the producer', err);
    }
  }

  write(): OperatorFunction<OutputMessage[], OutputMessage[]> {
    return writeCoalesced<OutputMessage>({
      write: (messages) => this.send(messages),
      weight: messageBytes,
      maxWeight: this.opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
    });
  }

  private send(messages: OutputMessage[]): Promise<void> {
    const batch = topicMessages(messages, this.opts.topics);
    return withBrokerRetry(
      `cannot write ${messages.length} output record(s)`,
      async () => {
        // acks -1: every in-sync replica has the records (required for idempotence).
        await this.producer.sendBatch({ topicMessages: batch, acks: -1 });
      },
      {
        outage: this.opts.outage,
        // The same producer keeps its id and sequence numbers, so the broker
        // drops a retried record it already has; only when that state is gone
        // does the retry need a fresh producer (and may then duplicate).
        beforeRetry: (err) => (isProducerStateError(err) ? this.replaceProducer() : Promise.resolve()),
        stopped: () => this.closing,
      },
    );
  }

  /** A fresh producer (new producer id, fresh sequence numbers) after its state was lost. */
  private async replaceProducer(): Promise<void> {
    const old = this.producer;
    this.producer = idempotentProducer(this.opts.kafka);
    await old.disconnect().catch(() => undefined);
    await this.producer.connect();
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.producer.disconnect().catch((err: unknown) => {
      this.opts.logger.warn('producer disconnect failed', { err: kafkaEdgeError('disconnect', err) });
    });
  }
}

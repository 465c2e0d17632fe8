/**
 * The output edge for at-least-once delivery: an idempotent kafkajs producer
 * (acks from all in-sync replicas, one request in flight per broker, so
 * retries neither duplicate nor reorder records). Output messages go to the
 * mentions or the dead-letter topic; a group of them is emitted downstream
 * only once the broker has acknowledged every one, which is what lets the
 * source commit their input offsets.
 */
import type { OperatorFunction } from 'rxjs';
import type { Kafka, Producer, TopicMessages } from 'kafkajs';
import type { OutputMessage } from '../../operators/types.js';
import type { Logger } from '../ops/logger.js';
import { writeCoalesced } from '../stream/coalesce.js';
import type { OutputSink } from '../stream/ports.js';
import { kafkaEdgeError } from './errors.js';

export interface OutputTopics {
  mentions: string;
  deadletter: string;
}

export interface KafkaSinkOptions {
  kafka: Kafka;
  topics: OutputTopics;
  logger: Logger;
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
    entry.messages.push({ key: m.key, value: m.value });
  }
  return [...by.values()];
}

/** Size of a message for request sizing. */
export function messageBytes(m: OutputMessage): number {
  return m.value.length + (m.key?.length ?? 0);
}

export class KafkaSink implements OutputSink {
  private readonly producer: Producer;

  constructor(private readonly opts: KafkaSinkOptions) {
    this.producer = opts.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
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

  private async send(messages: OutputMessage[]): Promise<void> {
    try {
      // acks -1: every in-sync replica has the records (required for idempotence).
      await this.producer.sendBatch({ topicMessages: topicMessages(messages, this.opts.topics), acks: -1 });
    } catch (err) {
      throw kafkaEdgeError(`cannot write ${messages.length} output record(s)`, err);
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch((err: unknown) => {
      this.opts.logger.warn('producer disconnect failed', { err: kafkaEdgeError('disconnect', err) });
    });
  }
}

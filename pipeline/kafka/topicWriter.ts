/**
 * Writes already-encoded records to one topic: an idempotent producer with
 * acks=all, so a retried send neither loses nor duplicates records. Used by
 * `mentionflow produce` and the integration tests.
 */
import type { Producer } from 'kafkajs';
import { ConfigError } from '../../common/errors.js';
import { createKafkaClient, type KafkaConnectionOptions } from './client.js';
import { kafkaEdgeError } from './errors.js';
import { newProducer } from './producers.js';

export interface TopicWriterOptions extends KafkaConnectionOptions {
  topic: string;
}

export interface WriteMessage {
  /** Partitioning key; null spreads records over partitions. */
  key: Buffer | string | null;
  value: Buffer;
}

export interface WrittenBatch {
  partition: number;
  /** Offset of the first record written to this partition by the send. */
  baseOffset: string;
}

export interface TopicWriter {
  readonly topic: string;
  /** Writes the messages and resolves once every broker has acknowledged them (acks=all). */
  send(messages: readonly WriteMessage[]): Promise<WrittenBatch[]>;
  close(): Promise<void>;
}

export async function openTopicWriter(opts: TopicWriterOptions): Promise<TopicWriter> {
  const { topic } = opts;
  if (!topic) throw new ConfigError('topicWriter: topic is required');
  const producer: Producer = newProducer(createKafkaClient(opts));
  try {
    await producer.connect();
  } catch (err) {
    throw kafkaEdgeError(`cannot connect a producer to ${opts.brokers.join(',')}`, err);
  }
  let closed = false;
  return {
    topic,
    async send(messages) {
      if (closed) throw new ConfigError(`topicWriter for ${topic} is closed`);
      if (messages.length === 0) return [];
      try {
        const res = await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value })) });
        return res.map((r) => ({ partition: r.partition, baseOffset: String(r.baseOffset ?? '') }));
      } catch (err) {
        throw kafkaEdgeError(`cannot write ${messages.length} record(s)`, err, { topic });
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await producer.disconnect().catch(() => undefined);
    },
  };
}

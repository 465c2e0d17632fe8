/**
 * The one place mentionflow's kafkajs producers are configured: idempotent,
 * one request in flight per broker (ordering across retries), never creating
 * topics, keyed records partitioned as kafkajs's default partitioner does
 * (keyPartitioner, without its per-key Long arithmetic); transactional when
 * given a transactional id. The sinks, the trends edges and the topic tools
 * differ only in those options and in kafkajs's retry policy.
 */
import type { Kafka, Producer, RetryOptions } from 'kafkajs';
import { keyPartitioner } from './keyPartitioner.js';

export interface ProducerOptions {
  /** Makes the producer transactional under this id (registering it fences older producers of the id). */
  transactionalId?: string;
  /** Broker-side timeout of an open transaction, ms (transactional only); default 60000. */
  transactionTimeoutMs?: number;
  /** kafkajs's retries of one request; default kafkajs's. */
  retry?: RetryOptions;
}

export function newProducer(kafka: Kafka, opts: ProducerOptions = {}): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: keyPartitioner,
    ...(opts.transactionalId === undefined ? {} : { transactionalId: opts.transactionalId, transactionTimeout: opts.transactionTimeoutMs ?? 60_000 }),
    ...(opts.retry === undefined ? {} : { retry: opts.retry }),
  });
}

/**
 * What the Kafka edges need to be told, as plain data (no kafkajs here, so
 * the worker's configuration can import it without loading the client):
 * how to reach the brokers, which every Kafka command shares, and how the
 * worker's source and sinks read, write and commit. The worker's
 * WorkerConfig (pipeline/stream/config.ts) validates these values and
 * carries them; the edges declare only the fields they read.
 */

/** SASL mechanisms the client supports (the password comes from MENTIONFLOW_SASL_PASSWORD only). */
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
/** A SASL mechanism for Kafka authentication. */
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/**
 * at-least-once: offsets are committed once the outputs before them are
 * acknowledged; exactly-once: outputs and offsets in one transaction.
 */
export const DELIVERY_MODES = ['at-least-once', 'exactly-once'] as const;
/** How the worker delivers: at-least-once, or exactly-once with Kafka transactions. */
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/** Where a consumer group without committed offsets starts. */
export const START_FROM = ['earliest', 'latest'] as const;
/** Where a consumer group without committed offsets starts: earliest or latest. */
export type StartFrom = (typeof START_FROM)[number];

/** How to reach Kafka; every Kafka command takes these (see WORKER_OPTIONS for each option's flag and variable). */
export interface KafkaConnectionSettings {
  /** Bootstrap brokers, host:port each. */
  brokers: readonly string[];
  /** Default 'mentionflow'. */
  clientId?: string;
  /** TLS; implied by sslCa, sslCert and sslKey. */
  ssl?: boolean;
  /** PEM file paths: the CA, and the client certificate with its key (both or neither). */
  sslCa?: string;
  sslCert?: string;
  sslKey?: string;
  saslMechanism?: SaslMechanism;
  saslUsername?: string;
  saslPassword?: string;
  /** Default 3000 ms. */
  connectionTimeoutMs?: number;
}

/** What the worker's Kafka source and sinks are opened with (pipeline/kafka/edges.ts). */
export interface KafkaEdgesSettings extends KafkaConnectionSettings {
  groupId: string;
  inputTopic: string;
  outputTopic: string;
  deadLetterTopic: string;
  startFrom: StartFrom;
  delivery: DeliveryMode;
  /** exactly-once: prefix of the per-input-partition transactional ids; unset, the group id. */
  transactionalIdPrefix?: string;
  /** Most records read and not yet acknowledged. */
  maxInFlight: number;
  commitIntervalMs: number;
  sessionTimeoutMs: number;
  /** Longest broker outage ridden through before the stream fails. */
  maxBrokerOutageMs: number;
  /**
   * Most time a graceful stop takes (drain, commit, disconnect); default
   * 30000. At-least-once, a final commit refused because the group had
   * evicted this worker is made again once it has rejoined, waiting a third
   * of this at most (and 10 s).
   */
  shutdownTimeoutMs?: number;
}

/**
 * withAdmin: one admin round trip of the topic tools (topicAdmin,
 * topicReader, replay), retried as a whole with backoff while the failure is
 * retriable (common/retry.ts), and given up at once when it is not (wrong
 * credentials, an untrusted certificate, a missing topic). kafkajs errors
 * become KafkaEdgeError: "cannot connect to Kafka at <brokers> (TLS, SASL
 * scram-sha-256 as alice): <reason>" when the connection or authentication failed, "<what>: <reason> (topic t)"
 * when the call did. The project's own errors (a ConfigError for a missing
 * topic) pass through. kafkajs's log lines of these calls go to debug: the
 * error says what failed, once.
 */
import type { Admin } from 'kafkajs';
import { MentionflowError, type KafkaPosition } from '../../common/errors.js';
import { withRetry, type RetryPolicy } from '../../common/retry.js';
import { silentLogger, type Logger } from '../ops/logger.js';
import { createKafkaClient, type KafkaConnectionOptions } from './client.js';
import { kafkaEdgeError } from './errors.js';

export interface AdminCall {
  /** What the call does, for the error message: "cannot create topic posts". */
  what: string;
  /** Where, for the error's context. */
  position?: KafkaPosition;
  /** Retries of the whole call; default 3 retries, 300 ms doubling up to 3 s, ±20 % jitter. */
  policy?: RetryPolicy;
}

/** kafkajs's retries inside one attempt: one quick retry, so the outer policy decides. */
const ATTEMPT_RETRY = { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 };

/** How the client connects, for messages: "TLS, SASL scram-sha-512 as alice", "no TLS, no SASL". */
function security(opts: KafkaConnectionOptions): string {
  const tls = opts.ssl === true || opts.sslCa !== undefined || opts.sslCert !== undefined;
  return `${tls ? 'TLS' : 'no TLS'}, ${opts.saslMechanism === undefined ? 'no SASL' : `SASL ${opts.saslMechanism} as ${opts.saslUsername}`}`;
}

/** A logger that writes every line at debug. */
function atDebug(logger: Logger): Logger {
  return { ...logger, info: logger.debug, warn: logger.debug, error: logger.debug, child: (fields) => atDebug(logger.child(fields)) };
}

/** Connects an admin client, runs `fn` with it and disconnects; the whole retried while retriable. */
export async function withAdmin<T>(opts: KafkaConnectionOptions, call: AdminCall, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const logger = opts.logger ?? silentLogger();
  const kafka = createKafkaClient({ ...opts, logger: atDebug(logger), retry: ATTEMPT_RETRY });
  return withRetry(
    async () => {
      const admin = kafka.admin();
      try {
        try {
          await admin.connect();
        } catch (err) {
          throw kafkaEdgeError(`cannot connect to Kafka at ${opts.brokers.join(',')} (${security(opts)})`, err);
        }
        return await fn(admin);
      } catch (err) {
        throw err instanceof MentionflowError ? err : kafkaEdgeError(call.what, err, call.position);
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    { onRetry: (err, n, waitMs) => logger.info(`${(err as Error).message}; retry ${n} in ${waitMs} ms`), ...call.policy },
  );
}

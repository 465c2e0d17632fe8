/**
 * The Kafka connection options of `produce`, `tail` and `archive`: the same
 * flags, MENTIONFLOW_* environment variables and validation as `mentionflow
 * run`, from the same table (WORKER_OPTIONS): brokers, client id, TLS, SASL
 * and the connection timeout. Precedence: flag > environment variable >
 * default. The SASL password comes from MENTIONFLOW_SASL_PASSWORD only.
 */
import { ConfigError } from '../common/errors.js';
import type { KafkaConnectionOptions } from '../pipeline/kafka/client.js';
import { SASL_PASSWORD_ENV, WORKER_OPTIONS, envName, flagName, resolveWorkerConfig, type WorkerConfig } from '../pipeline/stream/config.js';
import type { OptionSpec, Parsed } from './args.js';
import { workerFlagTable, workerFlagValues, workerFlags } from './workerFlags.js';

const KEYS = ['brokers', 'clientId', 'ssl', 'sslCa', 'sslCert', 'sslKey', 'saslMechanism', 'saslUsername', 'connectionTimeoutMs'] as const;
const OPTIONS = WORKER_OPTIONS.filter((o) => (KEYS as readonly string[]).includes(o.key));

/** The connection flags, as `run` has them (--brokers is required here: these commands have no file mode). */
export function kafkaConnectionFlags(): Record<string, OptionSpec> {
  return workerFlags(OPTIONS, { brokers: `Kafka bootstrap brokers (required: this flag or ${envName('brokers')})` });
}

/** The names of the connection flags, without the dashes. */
export const KAFKA_CONNECTION_FLAGS: readonly string[] = OPTIONS.map((o) => flagName(o.key));

/** A --help note on where the connection options come from. */
export const KAFKA_CONNECTION_NOTE = [
  'Kafka connection options as for `mentionflow run`, flag > environment variable > default:',
  '',
  workerFlagTable(OPTIONS, false),
  '',
  `The SASL password is read only from ${SASL_PASSWORD_ENV} (never a flag).`,
].join('\n');

/** The connection options of a worker configuration (`run`, `topics`); ConfigError when it names no brokers. */
export function connectionOf(config: WorkerConfig): KafkaConnectionOptions {
  if (config.brokers.length === 0) throw new ConfigError(`no Kafka brokers: pass --brokers host:port[,host:port...] or set ${envName('brokers')}`);
  const { brokers, clientId, ssl, sslCa, sslCert, sslKey, saslMechanism, saslUsername, saslPassword, connectionTimeoutMs } = config;
  return { brokers, clientId, ssl, sslCa, sslCert, sslKey, saslMechanism, saslUsername, saslPassword, connectionTimeoutMs };
}

/** The validated connection options from the flags and `env`; ConfigError naming the option when one is off. */
export function kafkaConnection(p: Parsed, env: NodeJS.ProcessEnv = process.env): KafkaConnectionOptions {
  const names = new Set([...OPTIONS.map((o) => envName(o.key)), SASL_PASSWORD_ENV]);
  const config = resolveWorkerConfig({
    flags: workerFlagValues(p, OPTIONS),
    env: Object.fromEntries(Object.entries(env).filter(([name]) => names.has(name))),
    // Paths of the model and the sample input: not used by these commands.
    paths: { model: '', input: '' },
  });
  if (config.brokers.length === 0) throw new ConfigError(`no Kafka brokers: pass --brokers host:port[,host:port...] or set ${envName('brokers')}`);
  const { brokers, clientId, ssl, sslCa, sslCert, sslKey, saslMechanism, saslUsername, saslPassword, connectionTimeoutMs } = config;
  return { brokers, clientId, ssl, sslCa, sslCert, sslKey, saslMechanism, saslUsername, saslPassword, connectionTimeoutMs };
}

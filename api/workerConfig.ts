/**
 * A WorkerConfig from a plain object, checked by the rules `mentionflow run`
 * applies to its flags, environment and config file.
 */
import { ConfigError } from '../common/errors.js';
import { resolveWorkerConfig, SASL_PASSWORD_ENV, type WorkerConfig } from '../pipeline/stream/config.js';
import { defaultModelDir } from './loadTagger.js';

/** How the checks name where the values came from (replaced in their messages). */
const SOURCE = 'workerConfig()';

/**
 * The worker configuration with `overrides` applied to `mentionflow run`'s
 * defaults (e.g. `{ brokers: ['kafka:9092'], inputTopic: 'posts' }`), for
 * openKafkaEdges and startWorker. Every value is checked as in a `run`
 * config file (unknown keys, types, ranges, topic names, combinations);
 * ConfigError naming the option otherwise. Unlike the command, it reads no
 * environment variables; `saslPassword` may be given here. The model
 * defaults to {@link defaultModelDir}; `input` (the file mode's posts file)
 * has no default.
 */
export function workerConfig(overrides: Partial<WorkerConfig> = {}): WorkerConfig {
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new ConfigError('workerConfig: pass an object of options, e.g. { brokers: ["kafka:9092"], inputTopic: "posts" }');
  }
  const { saslPassword, ...values } = overrides;
  if (saslPassword !== undefined && typeof saslPassword !== 'string') throw new ConfigError('workerConfig: saslPassword must be a string');
  const defined = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
  try {
    return resolveWorkerConfig({
      paths: { model: defaultModelDir(), input: '' },
      file: { path: SOURCE, values: defined },
      env: saslPassword === undefined ? {} : { [SASL_PASSWORD_ENV]: saslPassword },
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // The checks speak of the command's sources; name this function's instead.
    const message = err.message.replace(`config file ${SOURCE}: `, '').replace(`in the environment variable ${SASL_PASSWORD_ENV}`, 'as saslPassword');
    throw new ConfigError(`workerConfig: ${message}`, { cause: err });
  }
}

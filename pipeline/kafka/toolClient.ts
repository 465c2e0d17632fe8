/** Broker lists of the topic tools' --brokers option. */
import { ConfigError } from '../../common/errors.js';

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[^\s:,[\]]+):([0-9]{1,5})$/;

/** Splits and checks a comma-separated broker list ("host:port,host:port"). */
export function parseBrokers(list: string): string[] {
  const brokers = list
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  if (brokers.length === 0) throw new ConfigError('no Kafka brokers given; pass host:port[,host:port...]');
  for (const b of brokers) {
    const m = HOST_PORT.exec(b);
    if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new ConfigError(`bad Kafka broker address ${JSON.stringify(b)}; expected host:port, e.g. 127.0.0.1:9092`);
    }
  }
  return brokers;
}

/** Env var consulted when no broker list is given on the command line. */
export const BROKERS_ENV = 'MENTIONFLOW_BROKERS';

/** The --brokers value, else $MENTIONFLOW_BROKERS, parsed; ConfigError when neither is set. */
export function resolveBrokers(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const list = flag ?? env[BROKERS_ENV];
  if (list === undefined || list.trim() === '') {
    throw new ConfigError(`no Kafka brokers: pass --brokers host:port[,host:port...] or set ${BROKERS_ENV}`);
  }
  return parseBrokers(list);
}

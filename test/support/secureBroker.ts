/**
 * A second, secured test broker for the TLS/SASL tests: a CA and a broker
 * certificate made here with the openssl CLI (node:crypto cannot sign
 * X.509), and deploy/kafka/start.sh with a SASL_SSL listener (SCRAM-SHA-256
 * and -512) on free ports and its own data dir, so the shared test broker
 * (KAFKA_BROKERS) is left alone. Every step is bounded in time; stop()
 * stops the broker and deletes its data.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../cli/defaults.js';
import { kafkaBrokers } from './kafka.js';

const run = promisify(execFile);
const KAFKA_DIR = join(projectRoot(), 'deploy', 'kafka');

function found(command: string, arg: string): boolean {
  const r = spawnSync(command, [arg], { stdio: 'ignore', timeout: 20_000 });
  return r.error === undefined;
}

/** Why the secured-broker tests cannot run here, or false when they can. */
export function secureBrokerSkip(): string | false {
  if (kafkaBrokers() === undefined) return 'KAFKA_BROKERS is not set: the Kafka integration tests are off (out="$(bash deploy/kafka/start.sh)" && export "$out" turns them on)';
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  if (!found(java, '-version')) return 'java not found (JDK 11+ needed to start the SASL_SSL test broker)';
  if (!found('openssl', 'version')) return 'openssl not found (needed to make the test CA and broker certificate)';
  const libs = join(KAFKA_DIR, 'target', 'libs');
  const jars = existsSync(libs) && readdirSync(libs).some((f) => f.startsWith('kafka_2.13-'));
  if (!jars && !found('mvn', '-v')) return 'no Kafka jars in deploy/kafka/target/libs and no mvn to resolve them';
  return false;
}

/** The files of a test PKI: the CA certificate clients trust, and the broker's PEM keystore (key + chain). */
export interface TestPki {
  caFile: string;
  keystore: string;
}

/** A CA and a certificate for 127.0.0.1 signed by it, valid for two days, in `dir`. */
export async function makeTestPki(dir: string): Promise<TestPki> {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir, timeout: 30_000 });
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=mentionflow test CA');
  await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  await openssl('x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'broker.crt');
  // The keystore: the private key (PKCS#8), then the certificate chain.
  await run('sh', ['-c', 'cat broker.key broker.crt ca.pem > broker.pem'], { cwd: dir, timeout: 10_000 });
  return { caFile: join(dir, 'ca.pem'), keystore: join(dir, 'broker.pem') };
}

/** A port that was free a moment ago on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface SecureBroker {
  /** The SASL_SSL listener, host:port. */
  saslSsl: string;
  /** The same broker's PLAINTEXT listener. */
  plaintext: string;
  /** stop.sh for this broker's data dir (also deletes it). */
  stop(): Promise<void>;
}

/**
 * Starts a broker with a SASL_SSL listener whose SCRAM users are `users`
 * (name -> password), its data under `dir`/kafka. Rejects, with start.sh's
 * diagnostics, when it is not ready within `timeoutMs`.
 */
export async function startSecureBroker(pki: TestPki, users: Record<string, string>, dir: string, timeoutMs = 120_000): Promise<SecureBroker> {
  const [port, controller, sasl] = [await freePort(), await freePort(), await freePort()];
  const env = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controller),
    KAFKA_SASL_SSL_PORT: String(sasl),
    KAFKA_DATA_DIR: join(dir, 'kafka'),
    KAFKA_SSL_KEYSTORE: pki.keystore,
    KAFKA_SCRAM_USERS: Object.entries(users)
      .map(([name, password]) => `${name}:${password}`)
      .join(','),
    KAFKA_HEAP_OPTS: '-Xmx384m -Xms128m',
    KAFKA_START_TIMEOUT: String(Math.floor(timeoutMs / 1000)),
  };
  const stop = async () => {
    await run('bash', [join(KAFKA_DIR, 'stop.sh')], { env, timeout: 40_000 }).catch(() => undefined);
  };
  try {
    await run('bash', [join(KAFKA_DIR, 'start.sh')], { env, timeout: timeoutMs });
  } catch (err) {
    await stop();
    const e = err as { stderr?: string; message: string };
    throw new Error(`the SASL_SSL test broker did not start: ${e.message}\n${e.stderr ?? ''}`);
  }
  return { saslSsl: `127.0.0.1:${sasl}`, plaintext: `127.0.0.1:${port}`, stop };
}

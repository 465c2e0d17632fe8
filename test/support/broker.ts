/**
 * A broker of a test's own (deploy/kafka/start.sh on other ports and its own
 * data directory), for the fault tests that stop, kill or restart it: the
 * shared test broker (KAFKA_BROKERS) is never touched. Needs Java and the
 * jars deploy/kafka/start.sh resolves (which .ci/run provides).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../cli/defaults.js';

const run = promisify(execFile);

export interface OwnBrokerOptions {
  /** PLAINTEXT port; the controller uses port + 1. Default: the first free pair from 39092 up. */
  port?: number;
  /** Extra server.properties lines. */
  extraProps?: string;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The first port p >= from such that p and p + 1 are both free on 127.0.0.1. */
export async function freePortPair(from = 39092): Promise<number> {
  for (let p = from; p < from + 200; p += 2) {
    if ((await portFree(p)) && (await portFree(p + 1))) return p;
  }
  throw new Error(`no two free ports between ${from} and ${from + 200}`);
}

export class OwnBroker {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'mf-broker-'));
  private readonly env: NodeJS.ProcessEnv;

  private constructor(readonly port: number, opts: OwnBrokerOptions) {
    this.env = {
      ...process.env,
      KAFKA_PORT: String(port),
      KAFKA_DATA_DIR: this.dataDir,
      KAFKA_HEAP_OPTS: '-Xmx384m -Xms128m',
      ...(opts.extraProps ? { KAFKA_EXTRA_PROPS: opts.extraProps } : {}),
    };
  }

  /** Starts a fresh broker; resolves once it answers. */
  static async start(opts: OwnBrokerOptions = {}): Promise<OwnBroker> {
    const broker = new OwnBroker(opts.port ?? (await freePortPair()), opts);
    await broker.startAgain();
    return broker;
  }

  /** host:port of this broker. */
  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  /** (Re)starts the broker on its kept data; resolves once it answers. */
  async startAgain(): Promise<void> {
    await run('bash', [join(projectRoot(), 'deploy', 'kafka', 'start.sh')], { env: { ...this.env, KAFKA_WARMUP: '1' }, timeout: 180_000 });
  }

  /** The broker's process id, if it runs. */
  pid(): number | undefined {
    const file = join(this.dataDir, 'kafka.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').trim());
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  /** kill -9: the broker dies without a controlled shutdown. */
  async kill9(): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) return;
    process.kill(pid, 'SIGKILL');
    const end = Date.now() + 20_000;
    while (Date.now() < end && this.pid() !== undefined) await new Promise((r) => setTimeout(r, 100));
  }

  /** A clean stop (SIGTERM, controlled shutdown), keeping the data. */
  async stopClean(): Promise<void> {
    await run('bash', [join(projectRoot(), 'deploy', 'kafka', 'stop.sh')], { env: { ...this.env, KEEP_DATA: '1' }, timeout: 60_000 });
  }

  /** Stops the broker and deletes its data. */
  async dispose(): Promise<void> {
    await run('bash', [join(projectRoot(), 'deploy', 'kafka', 'stop.sh')], { env: { ...this.env, KEEP_DATA: '1' }, timeout: 60_000 }).catch(() => undefined);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Java is needed to run a broker of one's own. */
export function javaAvailable(): boolean {
  const javaHome = process.env.JAVA_HOME;
  const paths = [...(javaHome ? [join(javaHome, 'bin', 'java')] : []), ...(process.env.PATH ?? '').split(':').map((d) => join(d, 'java'))];
  return paths.some((p) => existsSync(p));
}

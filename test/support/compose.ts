/**
 * deploy/compose/compose.yaml under podman-compose for the deploy tests: a
 * project of its own (unique name, host ports of its own), brought up by
 * service name and always taken down with its volumes.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../cli/defaults.js';
import { podmanEnv } from './podman.js';

const run = promisify(execFile);

export const COMPOSE_FILE = join(projectRoot(), 'deploy', 'compose', 'compose.yaml');

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface ComposeProject {
  readonly name: string;
  readonly env: NodeJS.ProcessEnv;
  /** podman-compose -p NAME -f compose.yaml ARGS; resolves with stdout. */
  compose(args: readonly string[], timeoutMs?: number): Promise<string>;
  /** down, with the volumes; never throws. */
  down(): Promise<void>;
}

export function composeProject(name: string, vars: Record<string, string>): ComposeProject {
  const env = { ...podmanEnv(), ...vars };
  const compose = async (args: readonly string[], timeoutMs = 300_000): Promise<string> => {
    try {
      const { stdout } = await run('podman-compose', ['-p', name, '-f', COMPOSE_FILE, ...args], { env, timeout: timeoutMs, maxBuffer: 64 << 20 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new Error(`podman-compose ${args.join(' ')}: ${(e.stderr || e.stdout || e.message).slice(-3000)}`);
    }
  };
  return {
    name,
    env,
    compose,
    down: async () => {
      await compose(['down', '-v', '-t', '5'], 180_000).catch(() => undefined);
      await run('podman', ['network', 'rm', '-f', `${name}_default`], { env, timeout: 60_000 }).catch(() => undefined);
      await run('podman', ['volume', 'rm', '-f', `${name}_kafka-data`], { env, timeout: 60_000 }).catch(() => undefined);
    },
  };
}

/** One instant query against Prometheus's HTTP API: [labels, value] per series. */
export async function promQuery(base: string, query: string): Promise<Array<[Record<string, string>, number]>> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string };
  if (body.status !== 'success' || !body.data) throw new Error(`prometheus ${query}: ${body.error ?? res.status}`);
  return body.data.result.map((r) => [r.metric, Number(r.value[1])]);
}

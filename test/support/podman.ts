/**
 * podman for the deploy tests (test/deploy): root podman with runc and
 * cgroupfs through deploy/podman/containers.conf (CONTAINERS_CONF, unless the
 * caller set one), the image names the build scripts give, and skip reasons
 * that say what to run. Every call is bounded.
 */
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../cli/defaults.js';

const run = promisify(execFile);

/** The worker image (deploy/image/build.sh's default tag, or WORKER_IMAGE). */
export const WORKER_IMAGE = process.env.WORKER_IMAGE ?? 'localhost/mentionflow:dev';
/** The Kafka image (deploy/kafka/image/build.sh's tag, or KAFKA_IMAGE). */
export const KAFKA_IMAGE = process.env.KAFKA_IMAGE ?? 'localhost/mentionflow-kafka:7.9.0';

export function podmanEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(projectRoot(), 'deploy', 'podman', 'containers.conf') };
}

/** Why podman tests cannot run here (undefined: they can). */
export function podmanSkip(images: readonly string[]): string | undefined {
  try {
    execFileSync('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}}'], { env: podmanEnv(), stdio: 'ignore', timeout: 30_000 });
  } catch {
    return 'podman is not installed or not working: bash deploy/podman/setup.sh';
  }
  for (const image of images) {
    try {
      execFileSync('podman', ['image', 'exists', image], { env: podmanEnv(), stdio: 'ignore', timeout: 30_000 });
    } catch {
      return `image ${image} not built: bash deploy/image/build.sh && bash deploy/kafka/image/build.sh`;
    }
  }
  return undefined;
}

/** Runs podman; resolves with stdout, rejects with podman's stderr. */
export async function podman(args: readonly string[], timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await run('podman', args, { env: podmanEnv(), timeout: timeoutMs, maxBuffer: 64 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`podman ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

/** Exit code of `podman args` (no throw). */
export async function podmanStatus(args: readonly string[], timeoutMs = 120_000): Promise<number> {
  try {
    await run('podman', args, { env: podmanEnv(), timeout: timeoutMs });
    return 0;
  } catch (err) {
    return typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1;
  }
}

/** Removes containers by name, ignoring ones that do not exist. */
export async function removeContainers(names: readonly string[]): Promise<void> {
  if (names.length > 0) await podman(['rm', '-f', '-i', '-t', '0', ...names]).catch(() => undefined);
}

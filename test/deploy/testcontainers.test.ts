/**
 * Testcontainers through podman: deploy/kafka/testcontainers.mjs starts the
 * Kafka image (deploy/kafka/image/build.sh, from the same Maven jars as the
 * JVM broker) with @testcontainers/kafka over podman's Docker API socket
 * (deploy/podman/setup.sh --service), and deploy/kafka/smoke.mjs (topics,
 * produce/consume, consumer groups, transactions) must pass against it.
 * The broker is reached on 127.0.0.1 (TESTCONTAINERS_HOST_OVERRIDE), through
 * the port podman maps. Skips, saying what to run, when podman, the image or
 * the Docker API socket is missing. The rest of the suite keeps the JVM broker
 * of KAFKA_BROKERS (the fault tests start and kill brokers of their own).
 */
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { projectRoot } from '../../cli/defaults.js';
import { KAFKA_IMAGE, podmanEnv, podmanSkip } from '../support/podman.js';

const run = promisify(execFile);
const SOCKET = '/run/podman/podman.sock';

function skipReason(): string | undefined {
  const why = podmanSkip([KAFKA_IMAGE]);
  if (why) return why;
  if (!existsSync(SOCKET)) return `podman's Docker API socket ${SOCKET} is missing: bash deploy/podman/setup.sh --service`;
  return undefined;
}

test('Testcontainers starts the Kafka image through podman and the broker passes the smoke test', { skip: skipReason(), timeout: 420_000 }, async () => {
  const root = projectRoot();
  const env = { ...podmanEnv(), DOCKER_HOST: `unix://${SOCKET}`, TESTCONTAINERS_RYUK_DISABLED: 'true', TESTCONTAINERS_HOST_OVERRIDE: '127.0.0.1', KAFKA_IMAGE };
  const child = spawn(process.execPath, [join(root, 'deploy', 'kafka', 'testcontainers.mjs')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const brokers = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /KAFKA_BROKERS=(\S+)/.exec(out);
        if (m) {
          clearInterval(timer);
          resolve(m[1]);
        }
      }, 200);
      void exited.then((code) => {
        clearInterval(timer);
        reject(new Error(`testcontainers.mjs exited ${code} before the broker was ready:\n${err}`));
      });
    });
    assert.match(brokers, /^127\.0\.0\.1:\d+$/, 'the broker is reached on 127.0.0.1');
    const smoke = await run(process.execPath, [join(root, 'deploy', 'kafka', 'smoke.mjs')], { env: { ...process.env, KAFKA_BROKERS: brokers }, timeout: 240_000 }).catch((e: { stdout?: string; stderr?: string }) => {
      throw new Error(`smoke.mjs failed against ${brokers}:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    });
    const summary = /(\d+) passed, (\d+) failed/.exec(smoke.stdout);
    assert.ok(summary, `smoke.mjs printed no summary:\n${smoke.stdout}`);
    assert.equal(Number(summary[2]), 0, smoke.stdout);
    assert.ok(Number(summary[1]) >= 5, smoke.stdout);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 60_000))]);
    if (code === 'timeout') child.kill('SIGKILL');
  }
});

/**
 * deploy/compose/compose.yaml with podman-compose: Kafka + the topics job + 2
 * workers + Prometheus (Grafana has no image here and is not started). Posts
 * are produced from the host; Prometheus's HTTP API must show both workers
 * scraped (up == 1) and the sums of the workers' record counters equal to the
 * posts produced (read and written as mention records). Skips with the
 * command to run when podman, podman-compose or an image is missing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, test } from 'node:test';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { composeProject, freePort, promQuery } from '../support/compose.js';
import { inputRecords, produceRecords, sleep, uniqueName } from '../support/kafka.js';
import { KAFKA_IMAGE, WORKER_IMAGE, podman, podmanSkip } from '../support/podman.js';

const PROMETHEUS_IMAGE = 'docker.io/prom/prometheus:v2.42.0';
function composeSkip(): string | undefined {
  try {
    execFileSync('podman-compose', ['version'], { stdio: 'ignore', timeout: 30_000 });
  } catch {
    return 'podman-compose is not installed: bash deploy/podman/setup.sh';
  }
  const missing = podmanSkip([WORKER_IMAGE, KAFKA_IMAGE, PROMETHEUS_IMAGE]);
  return missing && `${missing} (all of compose.yaml's: bash deploy/compose/local-images.sh)`;
}
const skip = composeSkip();
const project = composeProject(uniqueName('mfc').replace(/-/g, ''), {});
after(async () => {
  if (!skip) await project.down();
});

/** Polls `probe` until it returns undefined (done) or the deadline passes (throws the last reason). */
async function eventually(ms: number, probe: () => Promise<string | undefined>): Promise<void> {
  const end = Date.now() + ms;
  let reason: string | undefined = 'not tried';
  while (Date.now() < end) {
    reason = await probe().catch((err: Error) => err.message);
    if (reason === undefined) return;
    await sleep(1000);
  }
  throw new Error(`still not there after ${ms} ms: ${reason}`);
}

test('compose: Prometheus scrapes both workers and their record counters add up to the posts produced', { skip, timeout: 420_000 }, async () => {
  const kafkaPort = await freePort();
  const promPort = await freePort();
  Object.assign(project.env, { KAFKA_HOST_PORT: String(kafkaPort), PROMETHEUS_HOST_PORT: String(promPort), WORKERS: '2', PARTITIONS: '6' });
  await project.compose(['up', '-d', 'kafka', 'topics', 'worker', 'prometheus']);
  const brokers = [`localhost:${kafkaPort}`];
  const admin = new Kafka({ clientId: 'compose-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
  // the topics job creates posts with 6 partitions once Kafka answers (it restarts until then)
  await eventually(180_000, async () => {
    await admin.connect();
    try {
      const md = await admin.fetchTopicMetadata({ topics: ['posts'] });
      return md.topics[0]?.partitions.length === 6 ? undefined : 'posts has no 6 partitions yet';
    } finally {
      await admin.disconnect();
    }
  });
  // both workers in the group, each with partitions, before any post exists (else the first one
  // to join may read them all)
  await eventually(180_000, async () => {
    const admin = new Kafka({ clientId: 'compose-test-group', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { groups: [g] } = await admin.describeGroups(['mentionflow']);
      const owned = (g?.members ?? []).map((m) => (m.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment.posts?.length ?? 0 : 0));
      return owned.length === 2 && owned.every((n) => n > 0) ? undefined : `group mentionflow: partitions per member ${JSON.stringify(owned)}`;
    } finally {
      await admin.disconnect();
    }
  });
  const { records, ids } = inputRecords(300, 'compose', 0);
  await produceRecords(brokers, 'posts', records);
  const prom = `http://127.0.0.1:${promPort}`;
  try {
    await eventually(240_000, async () => {
      const up = await promQuery(prom, 'up{job="mentionflow"}');
      if (up.length !== 2 || up.some(([, v]) => v !== 1)) return `up{job="mentionflow"}: ${JSON.stringify(up)}`;
      const [[, read] = [{}, 0]] = await promQuery(prom, 'sum(mentionflow_records_in_total)');
      const [[, written] = [{}, 0]] = await promQuery(prom, 'sum(mentionflow_records_out_total{output="mentions"})');
      return read === ids.length && written === ids.length ? undefined : `records in ${read}, mention records out ${written}, posts ${ids.length}`;
    });
  } catch (err) {
    const logs = await podman(['logs', '--tail', '15', `${project.name}_worker_1`]).catch(() => '');
    throw new Error(`${(err as Error).message}\nworker 1 log:\n${logs}`);
  }
  // both workers did work (6 partitions split between them), and each counted on its own series
  const perWorker = await promQuery(prom, 'sum by (instance) (mentionflow_records_in_total)');
  assert.equal(perWorker.length, 2, JSON.stringify(perWorker));
  assert.ok(perWorker.every(([, v]) => v > 0), `each worker read some posts: ${JSON.stringify(perWorker)}`);
});

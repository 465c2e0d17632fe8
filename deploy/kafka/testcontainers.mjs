#!/usr/bin/env node
// The test broker in a container, started by Testcontainers (@testcontainers/kafka 11.x):
// a single KRaft Kafka container; writes `KAFKA_BROKERS=<host>:<port>` to stdout once the broker
// answers and is warmed up (wait-ready.mjs --warm, as start.sh does), keeps it until SIGTERM/SIGINT
// (then stops it).
//
//   node deploy/kafka/testcontainers.mjs [--image IMAGE] &
//
// IMAGE (or KAFKA_IMAGE): default confluentinc/cp-kafka:7.9.0 (Kafka 3.9) where a
// registry is reachable. Our machines have no registry and no Docker engine, but podman: there
// `.ci/run` uses deploy/podman/setup.sh --service (the Docker API on a unix socket, DOCKER_HOST,
// TESTCONTAINERS_RYUK_DISABLED=true) and the image deploy/kafka/image/build.sh makes from the same
// Maven jars as start.sh, localhost/mentionflow-kafka:7.9.0 (tagged like cp-kafka, see there).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { setInterval } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { KafkaContainer } from '@testcontainers/kafka';

const arg = process.argv.indexOf('--image');
const image = arg > 0 ? process.argv[arg + 1] : (process.env.KAFKA_IMAGE ?? 'confluentinc/cp-kafka:7.9.0');
const log = (m) => process.stderr.write(`[testcontainers] ${m}\n`);
const t0 = Date.now();

log(`starting ${image} (KRaft)${process.env.DOCKER_HOST ? ` through ${process.env.DOCKER_HOST}` : ''}`);
const container = await new KafkaContainer(image).withKraft().start();
const brokers = `${container.getHost()}:${container.getMappedPort(9093)}`;
let stopping = false;
const stop = async (code = 0) => {
  if (stopping) return;
  stopping = true;
  log('stopping the container');
  await container.stop();
  process.exit(code);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

// the readiness round trip and the coordinator warm-up of start.sh
const ready = spawnSync(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'wait-ready.mjs'), '--warm'], {
  env: { ...process.env, KAFKA_BROKERS: brokers },
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (ready.status !== 0) {
  log(`the broker at ${brokers} did not get ready`);
  await stop(1);
}
log(`ready at ${brokers} after ${Date.now() - t0} ms`);
process.stdout.write(`KAFKA_BROKERS=${brokers}\n`);
setInterval(() => {}, 1 << 30);

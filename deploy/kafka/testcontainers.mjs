#!/usr/bin/env node
// Where a Docker engine exists, the test broker is started by Testcontainers
// (@testcontainers/kafka 11.x, the line that supports Node 20) instead of
// from the Maven jars: this script starts a single KRaft Kafka container
// (Confluent's cp-kafka image, Kafka 3.9-compatible), writes
// `KAFKA_BROKERS=<host>:<port>` to stdout, and keeps the container until it
// receives SIGTERM/SIGINT (then stops it). .ci/run picks this path when
// `docker info` succeeds; our machines have no Docker engine, so they use
// deploy/kafka/start.sh. The readiness check is the same admin round trip.
//
//   node deploy/kafka/testcontainers.mjs [--image IMAGE] &
import { KafkaContainer } from '@testcontainers/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { setInterval } from 'node:timers';

const image = process.argv.includes('--image') ? process.argv[process.argv.indexOf('--image') + 1] : 'confluentinc/cp-kafka:7.9.0';
const log = (m) => process.stderr.write(`[testcontainers] ${m}\n`);

log(`starting ${image} (KRaft)`);
const container = await new KafkaContainer(image).withKraft().start();
const brokers = `${container.getHost()}:${container.getMappedPort(9093)}`;
const admin = new Kafka({ clientId: 'mentionflow-ready', brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
await admin.connect();
await admin.describeCluster();
await admin.disconnect();
log(`ready at ${brokers}`);
process.stdout.write(`KAFKA_BROKERS=${brokers}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  log('stopping the container');
  await container.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setInterval(() => {}, 1 << 30);

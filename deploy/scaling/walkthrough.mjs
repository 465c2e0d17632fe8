#!/usr/bin/env node
// Scaling walkthrough: two worker containers in one consumer group split a topic's partitions;
// one is killed (podman kill -s KILL, no drain, no commit), the other takes its partitions over;
// then every post is checked against the mention records (at-least-once: >= 1 each, duplicates
// counted; exactly-once: exactly 1 each, read_committed).
//
//   npm run build && bash deploy/image/build.sh
//   KAFKA_BROKERS=127.0.0.1:19092 node deploy/scaling/walkthrough.mjs [--posts 3000] [--partitions 6]
//                                     [--delivery at-least-once|exactly-once] [--rate 300]
//
// Workers run with --network host against KAFKA_BROKERS, --session-timeout-ms 6000 (how soon the
// group notices the dead one). The last stdout line is a JSON summary; exit 0 when nothing is lost
// (and, with exactly-once, nothing is duplicated), else 1. test/deploy/scaling.test.ts runs a short
// version. Env: WORKER_IMAGE (default localhost/mentionflow:dev), CONTAINERS_CONF.
/* global fetch */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { encodeStrict, loadSchema } from '../../dist/schemas/registry.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: opt } = parseArgs({
  options: {
    posts: { type: 'string', default: '3000' },
    partitions: { type: 'string', default: '6' },
    delivery: { type: 'string', default: 'at-least-once' },
    rate: { type: 'string', default: '300' },
  },
});
const POSTS = Number(opt.posts);
const PARTITIONS = Number(opt.partitions);
const RATE = Number(opt.rate); // posts per second while producing
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
if (brokers.length === 0 || !(POSTS >= 2) || !(PARTITIONS >= 2) || !['at-least-once', 'exactly-once'].includes(opt.delivery)) {
  console.error('usage: KAFKA_BROKERS=host:port node deploy/scaling/walkthrough.mjs [--posts N>=2] [--partitions N>=2] [--delivery at-least-once|exactly-once] [--rate POSTS_PER_S]');
  process.exit(2);
}
const IMAGE = process.env.WORKER_IMAGE ?? 'localhost/mentionflow:dev';
const env = { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(ROOT, 'deploy', 'podman', 'containers.conf') };
const podman = async (...args) => (await promisify(execFile)('podman', args, { env, timeout: 120_000 })).stdout.trim();
const t0 = Date.now();
const say = (m) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${m}`);

const run = `scaling-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
const topics = { input: `${run}-posts`, output: `${run}-mentions`, deadLetter: `${run}-dl` };
const group = `${run}-group`;
const kafka = new Kafka({ clientId: 'scaling-walkthrough', brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const workers = ['a', 'b'].map((n, i) => ({ name: `${run}-worker-${n}`, port: 20000 + Math.floor(Math.random() * 20000) + i }));

async function assignment() {
  const { groups: [g] } = await admin.describeGroups([group]);
  const out = {};
  for (const m of g?.members ?? []) {
    const a = m.memberAssignment?.length ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
    out[m.clientHost.replace(/^\//, '') + ' ' + m.memberId.slice(-6)] = (a?.assignment?.[topics.input] ?? []).sort((x, y) => x - y);
  }
  return out;
}
async function waitFor(what, ms, cond) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(250);
  }
}
const ready = (w) => fetch(`http://127.0.0.1:${w.port}/readyz`).then((r) => r.ok, () => false);
async function counter(w, name, label) {
  const text = await fetch(`http://127.0.0.1:${w.port}/metrics`).then((r) => r.text());
  return text.split('\n').filter((l) => l.startsWith(name) && (!label || l.includes(label))).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

const postType = loadSchema('post');
const texts = ['今天在北京见到了马云，他说阿里巴巴明年还要招人。', '上海下雨了小王约我明天去外滩散步', '那位老板昨天在深圳开了发布会，腾讯的人也来了'];
const post = (i) => ({ id: `${run}-${i}`, text: `${texts[i % texts.length]} #${i}`, author_id: `u${i % 97}`, created_at: 1_700_000_000_000 + i * 1000, source: 'weibo', lang: 'zh-Hans', reply_to: null, attributes: {}, topic_tags: [], geo: null });
async function produce(producer, from, to) {
  const chunk = Math.max(1, Math.round(RATE / 10));
  for (let i = from; i < to; i += chunk) {
    const messages = [];
    for (let j = i; j < Math.min(to, i + chunk); j++) messages.push({ key: post(j).id, value: encodeStrict(postType, post(j)) });
    await producer.send({ topic: topics.input, acks: -1, messages });
    await sleep(100);
  }
}

const seen = new Map();
let outputs = 0;
const summary = { run, delivery: opt.delivery, posts: POSTS, partitions: PARTITIONS };
let consumer;
let code = 1;
try {
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [topics.input, topics.output, topics.deadLetter].map((topic) => ({ topic, numPartitions: PARTITIONS })) });
  say(`topics ${topics.input} (${PARTITIONS} partitions), ${topics.output}; group ${group}; ${opt.delivery}`);
  for (const w of workers) {
    await podman('run', '-d', '--name', w.name, '--network', 'host',
      '-e', `MENTIONFLOW_BROKERS=${brokers.join(',')}`, '-e', `MENTIONFLOW_INPUT_TOPIC=${topics.input}`,
      '-e', `MENTIONFLOW_OUTPUT_TOPIC=${topics.output}`, '-e', `MENTIONFLOW_DEAD_LETTER_TOPIC=${topics.deadLetter}`,
      '-e', `MENTIONFLOW_GROUP_ID=${group}`, '-e', `MENTIONFLOW_METRICS_PORT=${w.port}`, '-e', `MENTIONFLOW_DELIVERY=${opt.delivery}`,
      '-e', 'MENTIONFLOW_SESSION_TIMEOUT_MS=6000', IMAGE);
    say(`started ${w.name} (metrics :${w.port})`);
  }
  await waitFor('both workers ready', 120_000, async () => (await ready(workers[0])) && (await ready(workers[1])));
  const before = await waitFor('the partitions split between two members', 60_000, async () => {
    const a = await assignment();
    return Object.keys(a).length === 2 && Object.values(a).every((p) => p.length > 0) ? a : undefined;
  });
  summary.assignmentBefore = before;
  say(`group: ${JSON.stringify(before)}`);

  consumer = kafka.consumer({ groupId: `${run}-reader`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic: topics.output, fromBeginning: true });
  const mentionsType = loadSchema('mentions');
  await consumer.run({ eachMessage: async ({ message }) => {
    const m = mentionsType.fromBuffer(message.value);
    outputs += 1;
    seen.set(m.post_id, (seen.get(m.post_id) ?? 0) + 1);
  } });

  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const half = Math.floor(POSTS / 2);
  await produce(producer, 0, half);
  await waitFor('both workers to write mention records', 60_000, async () => (await counter(workers[0], 'mentionflow_records_out_total', 'mentions')) > 0 && (await counter(workers[1], 'mentionflow_records_out_total', 'mentions')) > 0);
  summary.writtenBeforeKill = { [workers[0].name]: await counter(workers[0], 'mentionflow_records_out_total', 'mentions'), [workers[1].name]: await counter(workers[1], 'mentionflow_records_out_total', 'mentions') };
  say(`${half} posts produced; mention records so far: ${JSON.stringify(summary.writtenBeforeKill)}`);
  // the second half starts before the kill, so the victim is killed mid-stream
  const rest = produce(producer, half, POSTS);
  await sleep(500);
  await podman('kill', '--signal', 'KILL', workers[0].name);
  const killedAt = Date.now();
  say(`podman kill -s KILL ${workers[0].name}`);
  await rest;
  say(`all ${POSTS} posts produced`);
  const after = await waitFor(`${workers[1].name} to own every partition`, 90_000, async () => {
    const a = await assignment();
    const parts = Object.values(a);
    return parts.length === 1 && parts[0].length === PARTITIONS ? a : undefined;
  });
  summary.takeoverMs = Date.now() - killedAt;
  summary.assignmentAfter = after;
  say(`group after the kill: ${JSON.stringify(after)} (${summary.takeoverMs} ms after the kill)`);
  await producer.disconnect();
  await waitFor('a mention record for every post', 180_000, async () => seen.size === POSTS).catch((err) => say(err.message));
  await sleep(3000); // late duplicates
  await podman('kill', '--signal', 'TERM', workers[1].name);
  summary.survivorExit = Number(await podman('wait', workers[1].name));
  const committed = (await admin.fetchOffsets({ groupId: group, topics: [topics.input] }))[0].partitions;
  const ends = await admin.fetchTopicOffsets(topics.input);
  summary.uncommitted = ends.reduce((s, p) => s + Number(p.high) - Number(committed.find((c) => c.partition === p.partition)?.offset ?? 0), 0);
  Object.assign(summary, {
    mentionRecords: outputs,
    postsWithRecord: seen.size,
    missing: POSTS - seen.size,
    duplicated: [...seen.values()].filter((n) => n > 1).length,
  });
  say(`${POSTS} posts: ${summary.postsWithRecord} with a mention record (${summary.missing} missing), ${outputs} records, ${summary.duplicated} posts twice or more; survivor exit ${summary.survivorExit} on SIGTERM, ${summary.uncommitted} offsets uncommitted`);
  const exact = opt.delivery === 'exactly-once' ? summary.duplicated === 0 : true;
  code = summary.missing === 0 && exact && summary.survivorExit === 0 && summary.uncommitted === 0 ? 0 : 1;
} catch (err) {
  summary.error = err.message;
  say(`ERROR: ${err.message}`);
  for (const w of workers) say(`${w.name} log tail:\n${await podman('logs', '--tail', '10', w.name).catch(() => '(none)')}`);
} finally {
  await consumer?.disconnect().catch(() => undefined);
  await podman('rm', '-f', '-i', '-t', '0', ...workers.map((w) => w.name)).catch(() => undefined);
  await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
  await admin.disconnect();
}
console.log(JSON.stringify(summary));
process.exit(code);

/**
 * `mentionflow topics create|describe` and `run --create-topics` against the
 * real test broker, and the pure topic specs and problem checks.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { deleteTopics, readTopicStates } from '../../pipeline/kafka/topicAdmin.js';
import { topicProblems, topicSpecs, type TopicSettings } from '../../pipeline/kafka/topicSpecs.js';
import { KAFKA_SKIP, cliPath, kafkaBrokers, saveTinyModel, spawnCli, uniqueName, waitUntil, within } from '../support/kafka.js';

const settings: TopicSettings = {
  inputTopic: 'posts',
  outputTopic: 'mentions',
  deadLetterTopic: 'posts.deadletter',
  topicPartitions: 3,
  topicReplicationFactor: -1,
  topicRetentionMs: 1000,
  deadLetterRetentionMs: 2000,
  outputCleanupPolicy: 'compact',
};

describe('topic specs', () => {
  it('one spec per role, from the worker settings', () => {
    const specs = topicSpecs(settings);
    assert.deepEqual(
      specs.map((s) => [s.role, s.name, s.partitions, s.config['retention.ms'], s.config['cleanup.policy']]),
      [
        ['input', 'posts', 3, '1000', 'delete'],
        ['output', 'mentions', 3, '1000', 'compact'],
        ['dead-letter', 'posts.deadletter', 3, '2000', 'delete'],
      ],
    );
  });

  it('problems: missing, too few partitions, idle workers, a differing config; none when all match', () => {
    const [input, output] = topicSpecs(settings);
    assert.match(topicProblems(input, undefined)[0], /^input topic posts does not exist; create it with `mentionflow topics create`/);
    const state = { name: 'posts', partitions: 2, replicationFactor: 1, config: { 'retention.ms': '1000', 'cleanup.policy': 'delete' } };
    const problems = topicProblems(input, state, { id: 'g', members: 4 });
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0], /has 2 partition\(s\), fewer than topicPartitions \(3\): at most 2 worker\(s\) of a group get work/);
    assert.match(problems[1], /consumer group g has 4 members but input topic posts has 2 partition\(s\): 2 worker\(s\) sit idle/);
    assert.deepEqual(topicProblems(input, { ...state, partitions: 3 }, { id: 'g', members: 3 }), []);
    assert.match(topicProblems(output, { ...state, name: 'mentions', partitions: 3 }).join('\n'), /cleanup\.policy=delete, the configuration says compact/);
  });
});

describe('mentionflow topics against the broker', { skip: kafkaBrokers() === undefined ? KAFKA_SKIP : false }, () => {
  const brokers = kafkaBrokers() ?? [];
  const prefix = uniqueName('mf-topics');
  const names = { input: `${prefix}.in`, output: `${prefix}.out`, deadLetter: `${prefix}.dl` };
  const topicArgs = ['--brokers', brokers.join(','), '--input-topic', names.input, '--output-topic', names.output, '--dead-letter-topic', names.deadLetter, '--group-id', prefix];
  const cli = (...args: string[]) => spawnSync(process.execPath, [cliPath(), ...args], { encoding: 'utf8', timeout: 60_000 });

  after(async () => {
    await deleteTopics({ brokers, topics: [...Object.values(names), `${prefix}.run.in`, `${prefix}.run.out`, `${prefix}.run.dl`] });
  });

  it('describe --check fails while the topics are missing; create makes them as configured; --update brings them to a new configuration', async () => {
    const missing = cli('topics', 'describe', '--check', ...topicArgs);
    assert.equal(missing.status, 1, missing.stderr);
    assert.match(missing.stdout, new RegExp(`input +${names.input.replace(/\./g, '\\.')} +missing`));

    const created = cli('topics', 'create', ...topicArgs, '--topic-partitions', '2', '--topic-replication-factor', '1', '--dead-letter-retention-ms', '86400000');
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, /^created +.*\.in +\(2 partitions, retention\.ms=604800000, cleanup\.policy=delete\)$/m);
    const states = await readTopicStates({ brokers }, Object.values(names));
    assert.equal(states.get(names.input)?.partitions, 2);
    assert.equal(states.get(names.deadLetter)?.config['retention.ms'], '86400000');

    const again = cli('topics', 'create', ...topicArgs, '--topic-partitions', '2');
    assert.match(again.stdout, /^kept +.*\.out$/m, 'an existing topic is left alone');

    const stricter = ['--topic-partitions', '3', '--output-cleanup-policy', 'compact'];
    const differs = cli('topics', 'describe', '--check', '--json', ...topicArgs, ...stricter);
    assert.equal(differs.status, 1);
    const report = JSON.parse(differs.stdout) as { problems: string[] };
    assert.ok(report.problems.some((p) => /\.out has cleanup\.policy=delete, the configuration says compact/.test(p)), report.problems.join('\n'));

    const updated = cli('topics', 'create', '--update', ...topicArgs, ...stricter);
    assert.equal(updated.status, 0, updated.stderr);
    assert.match(updated.stdout, /^updated +.*\.out +\(partitions 2 -> 3, cleanup\.policy: delete -> compact\)$/m);
    const ok = cli('topics', 'describe', '--check', '--json', ...topicArgs, ...stricter);
    assert.equal(ok.status, 0, ok.stdout);
    const after = JSON.parse(ok.stdout) as { topics: Array<{ role: string; state: { partitions: number; config: Record<string, string> } }> };
    assert.deepEqual(after.topics.map((t) => [t.role, t.state.partitions, t.state.config['cleanup.policy']]), [['input', 3, 'delete'], ['output', 3, 'compact'], ['dead-letter', 3, 'delete']]);
  });

  it('describe names idle workers: more members in the group than input partitions', async () => {
    const kafka = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });
    const consumers = Array.from({ length: 4 }, () => kafka.consumer({ groupId: prefix, sessionTimeout: 6000 }));
    try {
      for (const c of consumers) {
        await c.connect();
        await c.subscribe({ topic: names.input });
      }
      let joined = 0;
      for (const c of consumers) {
        c.on(c.events.GROUP_JOIN, () => (joined += 1));
        void c.run({ eachMessage: async () => undefined });
      }
      await waitUntil(() => joined >= 4, 60_000, 'four consumers in the group');
      const r = cli('topics', 'describe', ...topicArgs, '--topic-partitions', '3');
      assert.match(r.stdout, new RegExp(`consumer group ${prefix}: 4 member\\(s\\)`));
      assert.match(r.stdout, /has 4 members but input topic .* has 3 partition\(s\): 1 worker\(s\) sit idle/);
    } finally {
      await Promise.all(consumers.map((c) => c.disconnect()));
    }
  });

  describe('run', () => {
    let model: string;
    before(async () => {
      model = await saveTinyModel(join(mkdtempSync(join(tmpdir(), 'mf-topics-')), 'model'));
    });
    const runTopics = ['--brokers', brokers.join(','), '--input-topic', `${prefix}.run.in`, '--output-topic', `${prefix}.run.out`, '--dead-letter-topic', `${prefix}.run.dl`, '--group-id', `${prefix}.run`];

    it('without the topics: one line naming them and `mentionflow topics create`, exit 2', async () => {
      const r = spawnCli(['run', ...runTopics, '--model', model]);
      const { code } = await within(r.exited, 60_000, 'run to exit');
      assert.equal(code, 2, r.stderr);
      assert.match(r.stderr, /topics .*\.run\.in, .*\.run\.out, .*\.run\.dl not found on .*; create them with `mentionflow topics create` \(same options as run\), or pass --create-topics/);
    });

    it('a worker joining a group that has as many members as input partitions warns that workers sit idle', async () => {
      const idle = ['--brokers', brokers.join(','), '--input-topic', `${prefix}.idle.in`, '--output-topic', `${prefix}.idle.out`, '--dead-letter-topic', `${prefix}.idle.dl`, '--group-id', `${prefix}.idle`];
      const created = spawnSync(process.execPath, [cliPath(), 'topics', 'create', ...idle, '--topic-partitions', '1'], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(created.status, 0, created.stderr);
      const kafka = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });
      const other = kafka.consumer({ groupId: `${prefix}.idle`, sessionTimeout: 6000 });
      // the other member first, so that the worker is the one that finds the group full
      let joined = false;
      other.on(other.events.GROUP_JOIN, () => (joined = true));
      await other.connect();
      await other.subscribe({ topic: `${prefix}.idle.in` });
      void other.run({ eachMessage: async () => undefined });
      await waitUntil(() => joined, 60_000, 'the other consumer in the group');
      const r = spawnCli(['run', ...idle, '--model', model, '--topic-partitions', '1', '--session-timeout-ms', '6000', '--log-level', 'info']);
      try {
        await r.waitForStderr(/has 2 members but input topic .*\.idle\.in has 1 partition\(s\): 1 worker\(s\) sit idle/, 90_000);
      } finally {
        r.kill('SIGTERM');
        await within(r.exited, 60_000, 'run to stop').catch(() => r.kill());
        await other.disconnect();
        await deleteTopics({ brokers, topics: [`${prefix}.idle.in`, `${prefix}.idle.out`, `${prefix}.idle.dl`] });
      }
    });

    it('--create-topics creates them, then the worker starts', async () => {
      const r = spawnCli(['run', '--create-topics', ...runTopics, '--model', model, '--topic-partitions', '2', '--log-level', 'info']);
      try {
        await r.waitForStderr(/"worker started"/, 60_000);
        assert.equal((r.stderr.match(/"topic created"/g) ?? []).length, 3, r.stderr);
        const states = await readTopicStates({ brokers }, [`${prefix}.run.in`, `${prefix}.run.out`, `${prefix}.run.dl`]);
        assert.deepEqual([...states.values()].map((s) => s?.partitions), [2, 2, 2]);
        r.kill('SIGTERM');
        assert.equal((await within(r.exited, 60_000, 'run to stop')).code, 0, r.stderr);
      } finally {
        r.kill();
      }
    });
  });
});

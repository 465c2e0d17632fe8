/**
 * `mentionflow topics create|describe`: the worker's topics (input, output,
 * dead letters) as part of the product. Both take the options of `mentionflow
 * run` (flags, MENTIONFLOW_* variables, --config file), so the topics created
 * are the ones that run reads and writes, with the partitions, replication,
 * retention and cleanup policy of that configuration (pipeline/kafka/topicSpecs.ts).
 */
import { createTopics, groupMembers, readTopicStates } from '../../pipeline/kafka/topicAdmin.js';
import { DESCRIBED_CONFIGS, topicProblems, topicSpecs } from '../../pipeline/kafka/topicSpecs.js';
import { CONFIG_FILE_ENV, type WorkerConfig } from '../../pipeline/stream/config.js';
import type { CommandModule, CommandSpec, Parsed } from '../args.js';
import { connectionOf } from '../kafkaConnection.js';
import { workerFlags } from '../workerFlags.js';
import { workerConfig } from './run.js';

const RUN_OPTIONS = {
  config: { type: 'string', arg: 'FILE', description: `JSON file of run's options (default: $${CONFIG_FILE_ENV})` },
  ...workerFlags(),
} as const satisfies CommandSpec['options'];

const RUN_NOTE = 'Takes every option of `mentionflow run` (flags, MENTIONFLOW_* variables, --config file), so the same command line names the same topics.';

function configOf(p: Parsed): WorkerConfig {
  return workerConfig(p, process.env, (msg) => process.stderr.write(`warning: ${msg}\n`));
}

const create: CommandModule = {
  spec: {
    name: 'create',
    summary: "create the worker's input, output and dead-letter topics that do not exist (with --update, bring existing ones to the configuration)",
    usage: 'mentionflow topics create --brokers HOST:PORT,... [--update] [options of run]',
    options: {
      update: { type: 'boolean', description: 'also add partitions up to --topic-partitions (never removes any) and set retention.ms / cleanup.policy on topics that exist' },
      ...RUN_OPTIONS,
    },
    notes: `${RUN_NOTE}\nexample: mentionflow topics create --brokers 127.0.0.1:19092 --topic-partitions 6 --output-cleanup-policy compact`,
  },
  async run(p) {
    const config = configOf(p);
    const connection = connectionOf(config);
    const changes = await createTopics({ ...connection, update: p.values.update === true }, topicSpecs(config));
    for (const c of changes) process.stdout.write(`${c.action.padEnd(8)} ${c.name}${c.details.length > 0 ? `  (${c.details.join(', ')})` : ''}\n`);
    const states = await readTopicStates(connection, topicSpecs(config).map((s) => s.name));
    const problems = topicSpecs(config).flatMap((s) => topicProblems(s, states.get(s.name)));
    for (const problem of problems) process.stderr.write(`warning: ${problem}\n`);
    return 0;
  },
};

const describe: CommandModule = {
  spec: {
    name: 'describe',
    summary: "show the worker's topics as the broker has them, against the configuration: partitions, replication, retention, cleanup policy, consumer group members",
    usage: 'mentionflow topics describe --brokers HOST:PORT,... [--json] [--check] [options of run]',
    options: {
      json: { type: 'boolean', description: 'print one JSON object: topics (spec and state), group, problems' },
      check: { type: 'boolean', description: 'exit 1 when a topic is missing or differs from the configuration (for scripts and readiness checks)' },
      ...RUN_OPTIONS,
    },
    notes: RUN_NOTE,
  },
  async run(p) {
    const config = configOf(p);
    const connection = connectionOf(config);
    const specs = topicSpecs(config);
    const states = await readTopicStates(connection, specs.map((s) => s.name));
    const group = { id: config.groupId, members: await groupMembers(connection, config.groupId) };
    const problems = specs.flatMap((s) => topicProblems(s, states.get(s.name), group));
    if (p.values.json === true) {
      const topics = specs.map((spec) => ({ ...spec, state: states.get(spec.name) ?? null }));
      process.stdout.write(`${JSON.stringify({ topics, group, problems })}\n`);
    } else {
      const header = ['role', 'topic', 'partitions', 'replication', ...DESCRIBED_CONFIGS];
      const rows = specs.map((spec) => {
        const state = states.get(spec.name);
        if (state === undefined) return [spec.role, spec.name, 'missing', '', '', '', ''];
        return [spec.role, spec.name, String(state.partitions), String(state.replicationFactor), ...DESCRIBED_CONFIGS.map((k) => state.config[k] ?? '?')];
      });
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)) + 2);
      const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('').trimEnd();
      process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
      process.stdout.write(`consumer group ${group.id}: ${group.members} member(s)\n`);
      process.stdout.write(problems.length === 0 ? 'no problems\n' : `problems:\n${problems.map((x) => `  - ${x}`).join('\n')}\n`);
    }
    return p.values.check === true && problems.length > 0 ? 1 : 0;
  },
};

export const spec: CommandSpec = {
  name: 'topics',
  summary: "create or describe the worker's topics (input, mentions, dead letters) from run's configuration",
  usage: 'mentionflow topics create|describe [options of run]',
  options: {},
};

export const subcommands: readonly CommandModule[] = [create, describe];

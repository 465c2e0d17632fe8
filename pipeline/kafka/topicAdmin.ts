/** Topic checks and creation for the topic tools (`mentionflow topics`, `produce --create-topic`), `run --create-topics` and tests. */
import kafkajs from './kafkajs.js';
import type { KafkaConnectionOptions } from './client.js';
import { DESCRIBED_CONFIGS, type TopicSpec, type TopicState } from './topicSpecs.js';
import { withAdmin } from './withAdmin.js';

export interface EnsureTopicOptions extends KafkaConnectionOptions {
  topic: string;
  /** Partitions when created; default -1 (the broker's num.partitions). */
  partitions?: number;
  /** Replication factor when created; default -1 (the broker's default.replication.factor). */
  replicationFactor?: number;
}

export interface TopicInfo {
  /** Whether this call created the topic (false: it existed already). */
  created: boolean;
  /** Partition count of the topic. */
  partitions: number;
}

/** Partition count of `topic`, or undefined when the topic does not exist. */
export async function describeTopic(opts: KafkaConnectionOptions & { topic: string }): Promise<number | undefined> {
  const { topic } = opts;
  return withAdmin(opts, { what: 'cannot describe the topic', position: { topic } }, async (admin) => {
    if (!(await admin.listTopics()).includes(topic)) return undefined;
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    return md.topics[0]?.partitions.length;
  });
}

/** Creates `topic` unless it exists, waiting until every partition has a leader. */
export async function ensureTopic(opts: EnsureTopicOptions): Promise<TopicInfo> {
  const { topic, partitions = -1, replicationFactor = -1 } = opts;
  let created = false; // kept across retries: a retry after a successful create finds the topic there
  return withAdmin(opts, { what: 'cannot create the topic', position: { topic } }, async (admin) => {
    created = (await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor }] })) || created;
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    return { created, partitions: md.topics[0]?.partitions.length ?? 0 };
  });
}

/** Deletes topics (missing ones are ignored); for tests cleaning up after themselves. */
export async function deleteTopics(opts: KafkaConnectionOptions & { topics: readonly string[] }): Promise<void> {
  await withAdmin(opts, { what: `cannot delete topics ${opts.topics.join(', ')}` }, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const topics = opts.topics.filter((t) => existing.has(t));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10000 });
  });
}

/** The state of each of `names` on the broker (undefined: the topic does not exist), with the DESCRIBED_CONFIGS values. */
export async function readTopicStates(opts: KafkaConnectionOptions, names: readonly string[]): Promise<Map<string, TopicState | undefined>> {
  return withAdmin(opts, { what: `cannot describe topics ${names.join(', ')}` }, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const present = names.filter((n) => existing.has(n));
    const states = new Map<string, TopicState | undefined>(names.map((n) => [n, undefined]));
    if (present.length === 0) return states;
    const md = await admin.fetchTopicMetadata({ topics: present });
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: present.map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: [...DESCRIBED_CONFIGS] })),
    });
    for (const t of md.topics) {
      const entries = described.resources.find((r) => r.resourceName === t.name)?.configEntries ?? [];
      states.set(t.name, {
        name: t.name,
        partitions: t.partitions.length,
        replicationFactor: t.partitions[0]?.replicas.length ?? 0,
        config: Object.fromEntries(entries.map((e) => [e.configName, e.configValue])),
      });
    }
    return states;
  });
}

/** Members of consumer group `groupId` (0 when it has none or does not exist). */
export async function groupMembers(opts: KafkaConnectionOptions, groupId: string): Promise<number> {
  return withAdmin(opts, { what: `cannot describe consumer group ${groupId}` }, async (admin) => {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]?.members.length ?? 0;
  });
}

export interface TopicChange {
  name: string;
  /** created: it did not exist; updated: partitions added or configs set (--update); kept: left as it was. */
  action: 'created' | 'updated' | 'kept';
  /** What was done, for the report: "partitions 1 -> 3", "retention.ms=604800000". */
  details: string[];
}

/**
 * Creates the topics of `specs` that do not exist, with their partitions,
 * replication factor and configs, waiting for their leaders. With `update`,
 * existing topics are brought to their spec too: partitions added up to the
 * spec's count (never removed; new partitions change which partition a key
 * goes to) and the spec's configs set, the topic's other settings kept.
 */
export async function createTopics(opts: KafkaConnectionOptions & { update?: boolean }, specs: readonly TopicSpec[]): Promise<TopicChange[]> {
  const states = await readTopicStates(opts, specs.map((s) => s.name));
  const missing = specs.filter((s) => states.get(s.name) === undefined);
  return withAdmin(opts, { what: `cannot create topics ${missing.map((s) => s.name).join(', ')}` }, async (admin) => {
    const changes: TopicChange[] = [];
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.name,
          numPartitions: s.partitions,
          replicationFactor: s.replicationFactor,
          configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
        })),
      });
    }
    for (const spec of specs) {
      const state = states.get(spec.name);
      if (state === undefined) {
        changes.push({ name: spec.name, action: 'created', details: [`${spec.partitions} partitions`, ...Object.entries(spec.config).map(([k, v]) => `${k}=${v}`)] });
        continue;
      }
      const details: string[] = [];
      if (opts.update === true && state.partitions < spec.partitions) {
        await admin.createPartitions({ topicPartitions: [{ topic: spec.name, count: spec.partitions }] });
        details.push(`partitions ${state.partitions} -> ${spec.partitions}`);
      }
      const differing = Object.entries(spec.config).filter(([k, v]) => state.config[k] !== v);
      if (opts.update === true && differing.length > 0) {
        // AlterConfigs replaces a topic's whole set of settings: keep the ones set on the topic, change the spec's.
        const current = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: spec.name }] });
        const kept = (current.resources[0]?.configEntries ?? []).filter((e) => !e.isDefault && !e.readOnly && !e.isSensitive && !(e.configName in spec.config));
        await admin.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: kafkajs.ConfigResourceTypes.TOPIC,
              name: spec.name,
              configEntries: [...kept.map((e) => ({ name: e.configName, value: e.configValue })), ...Object.entries(spec.config).map(([name, value]) => ({ name, value }))],
            },
          ],
        });
        details.push(...differing.map(([k, v]) => `${k}: ${state.config[k]} -> ${v}`));
      }
      changes.push({ name: spec.name, action: details.length > 0 ? 'updated' : 'kept', details });
    }
    return changes;
  });
}

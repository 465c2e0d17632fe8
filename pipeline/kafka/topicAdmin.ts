/** Topic checks and creation for the topic tools and tests. */
import type { KafkaConnectionOptions } from './client.js';
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

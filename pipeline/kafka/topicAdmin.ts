/** Topic checks and creation for the topic tools and tests. */
import { edgeError, createToolKafka, type KafkaConnectionOptions } from './toolClient.js';

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
  const admin = createToolKafka(opts).admin();
  try {
    await admin.connect();
    if (!(await admin.listTopics()).includes(opts.topic)) return undefined;
    const md = await admin.fetchTopicMetadata({ topics: [opts.topic] });
    return md.topics[0]?.partitions.length;
  } catch (err) {
    throw edgeError(`cannot describe topic ${opts.topic}`, err);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Creates `topic` unless it exists, waiting until every partition has a leader. */
export async function ensureTopic(opts: EnsureTopicOptions): Promise<TopicInfo> {
  const { topic, partitions = -1, replicationFactor = -1 } = opts;
  const admin = createToolKafka(opts).admin();
  try {
    await admin.connect();
    const created = await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor }] });
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    return { created, partitions: md.topics[0]?.partitions.length ?? 0 };
  } catch (err) {
    throw edgeError(`cannot create topic ${topic}`, err);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Deletes topics (missing ones are ignored); for tests cleaning up after themselves. */
export async function deleteTopics(opts: KafkaConnectionOptions & { topics: readonly string[] }): Promise<void> {
  const admin = createToolKafka(opts).admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const topics = opts.topics.filter((t) => existing.has(t));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10000 });
  } catch (err) {
    throw edgeError(`cannot delete topics ${opts.topics.join(', ')}`, err);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

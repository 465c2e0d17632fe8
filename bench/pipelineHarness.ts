/**
 * The parent's tools for bench/pipeline.ts: topics and consumer groups it
 * creates (and deletes again), producers that load or pace the input, and a
 * handle on one forked measurement process (bench/pipelineWorker.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Admin } from 'kafkajs';
import { openTopicWriter, type TopicWriter } from '../pipeline/kafka/topicWriter.js';
import { createKafkaClient } from '../pipeline/kafka/client.js';
import type { MemorySnapshot, ToChild, ToParent, WorkerTask } from './pipelineProtocol.js';
import type { SyntheticPost } from './syntheticPosts.js';

const LOCAL = /^(127\.0\.0\.1|localhost|\[::1\]):\d+$/;

/** The benchmark talks only to a broker on this machine. */
export function checkLocalBrokers(brokers: readonly string[]): void {
  const remote = brokers.filter((b) => !LOCAL.test(b));
  if (brokers.length === 0 || remote.length > 0) {
    throw new Error(`the pipeline benchmark only runs against a local broker (127.0.0.1:PORT); got ${brokers.join(',') || 'none'}`);
  }
}

/** Topics and groups created by this run; cleanup() deletes them all. */
export class BenchKafka {
  private readonly topics = new Set<string>();
  private readonly groups = new Set<string>();

  private constructor(
    readonly brokers: string[],
    private readonly admin: Admin,
  ) {}

  static async open(brokers: string[]): Promise<BenchKafka> {
    const admin = createKafkaClient({ brokers, clientId: 'bench-pipeline-admin' }).admin();
    await admin.connect();
    return new BenchKafka(brokers, admin);
  }

  /**
   * Creates a topic (waiting for its leaders). With `logAppendTime` the broker
   * stamps each record with the time it appended it, which is when a
   * producer with acks=all on this single-replica broker is acknowledged.
   */
  async create(topic: string, partitions: number, opts: { logAppendTime?: boolean } = {}): Promise<string> {
    this.topics.add(topic);
    try {
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic,
            numPartitions: partitions,
            replicationFactor: 1,
            configEntries: opts.logAppendTime ? [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] : [],
          },
        ],
      });
    } catch (err) {
      // kafkajs waits for leaders only through LEADER_NOT_AVAILABLE; a busy broker
      // can first answer the metadata request with UNKNOWN_TOPIC_OR_PARTITION
      // (seen here, it ended a run): the topic was created, wait for it.
      if ((err as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
      await this.waitForTopic(topic, partitions);
    }
    return topic;
  }

  /** Polls the metadata until every partition of `topic` has a leader (at most 30 s). */
  private async waitForTopic(topic: string, partitions: number): Promise<void> {
    const until = Date.now() + 30_000;
    for (;;) {
      try {
        const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
        const parts = topics[0]?.partitions ?? [];
        if (parts.length === partitions && parts.every((p) => p.leader >= 0)) return;
      } catch (err) {
        if ((err as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION' && (err as { type?: string }).type !== 'LEADER_NOT_AVAILABLE') throw err;
      }
      if (Date.now() > until) throw new Error(`topic ${topic}: no leaders 30 s after it was created`);
      await sleep(100);
    }
  }

  /** Registers a consumer group id for deletion at cleanup. */
  group(id: string): string {
    this.groups.add(id);
    return id;
  }

  /** Records in a topic (sum over partitions of high - low watermark). */
  async count(topic: string): Promise<number> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return offsets.reduce((a, p) => a + Number(p.high) - Number(p.low), 0);
  }

  /** Records of `topic` after the group's committed offsets (a partition without a commit counts from its low watermark). */
  async uncommitted(groupId: string, topic: string): Promise<number> {
    const ends = await this.admin.fetchTopicOffsets(topic);
    const [committed] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    return ends.reduce((a, p) => {
      const c = Number(committed?.partitions.find((x) => x.partition === p.partition)?.offset ?? -1);
      return a + Number(p.high) - (c >= 0 ? c : Number(p.low));
    }, 0);
  }

  async delete(topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return;
    await this.admin.deleteTopics({ topics: [...topics], timeout: 30_000 }).catch((err: unknown) => {
      process.stderr.write(`warning: cannot delete topics ${topics.join(', ')}: ${(err as Error).message}\n`);
    });
    for (const t of topics) this.topics.delete(t);
  }

  /** Deletes consumer groups (they must have no members); ones the broker already dropped are fine. */
  async deleteGroups(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.groups.delete(id);
    if (ids.length === 0) return;
    await this.admin.deleteGroups([...ids]).catch((err: unknown) => {
      // the broker drops an empty group by itself once the topics of its offsets are deleted
      const failed = ((err as { groups?: { groupId: string; error?: { type?: string } }[] }).groups ?? []).filter((g) => g.error?.type !== 'GROUP_ID_NOT_FOUND');
      if (failed.length > 0 || !('groups' in (err as object))) {
        process.stderr.write(`warning: cannot delete consumer groups: ${(err as Error).message} ${failed.map((g) => `${g.groupId}: ${g.error?.type}`).join(', ')}\n`);
      }
    });
  }

  /** Deletes every topic and group this run created (call after the children exited). */
  async cleanup(): Promise<void> {
    await this.deleteGroups([...this.groups]);
    const existing = new Set(await this.admin.listTopics().catch(() => [...this.topics]));
    await this.delete([...this.topics].filter((t) => existing.has(t)));
  }

  async close(): Promise<void> {
    await this.admin.disconnect().catch(() => undefined);
  }

  writer(topic: string): Promise<TopicWriter> {
    return openTopicWriter({ brokers: this.brokers, topic, clientId: 'bench-pipeline-producer' });
  }
}

export type MakePost = (i: number, createdAt: number) => SyntheticPost;

/** Writes posts [from, to) in requests of `batch` posts; returns their code points. */
export async function produceRange(writer: TopicWriter, make: MakePost, from: number, to: number, batch = 1000): Promise<number> {
  let chars = 0;
  for (let i = from; i < to; i += batch) {
    checkInterrupt();
    const posts = [];
    for (let j = i; j < Math.min(to, i + batch); j++) posts.push(make(j, Date.now()));
    for (const p of posts) chars += p.chars;
    await writer.send(posts.map((p) => ({ key: p.key, value: p.value })));
  }
  return chars;
}

export interface PacedResult {
  sent: number;
  /** Time of the first scheduled post (ms since the epoch); post i is scheduled at start + i * 1000 / rate. */
  start: number;
  /** Wall time from start until the last request was acknowledged. */
  seconds: number;
  /** Largest delay between a post's scheduled time and the start of the request carrying it. */
  maxBehindMs: number;
}

/**
 * Open-loop paced producer: post i is due at start + i/rate and carries that
 * time as its created_at; every `tickMs` all posts that are due go out
 * (acks=all), in requests of at most `maxPerRequest` posts (a producer far
 * behind would otherwise build a request larger than the broker accepts). A
 * producer that falls behind sends more per tick; its delay shows up in the
 * latency instead of being hidden.
 */
export async function producePaced(writer: TopicWriter, make: MakePost, rate: number, seconds: number, tickMs = 5, maxPerRequest = 2000): Promise<PacedResult> {
  const total = Math.max(1, Math.round(rate * seconds));
  const start = Date.now() + 20;
  const due = (i: number) => start + (i * 1000) / rate;
  let sent = 0;
  let maxBehindMs = 0;
  for (let tick = 1; sent < total; tick++) {
    checkInterrupt();
    const wait = start + tick * tickMs - Date.now();
    if (wait > 0) await sleep(wait);
    const now = Date.now();
    let upTo = sent;
    while (upTo < total && upTo - sent < maxPerRequest && due(upTo) <= now) upTo++;
    if (upTo === sent) continue;
    maxBehindMs = Math.max(maxBehindMs, now - due(sent));
    const posts = [];
    for (let i = sent; i < upTo; i++) posts.push(make(i, due(i)));
    await writer.send(posts.map((p) => ({ key: p.key, value: p.value })));
    sent = upTo;
  }
  return { sent, start, seconds: (Date.now() - start) / 1000, maxBehindMs };
}

const WORKER = fileURLToPath(new URL('./pipelineWorker.js', import.meta.url));
const live = new Set<ChildProcess>();
/** Extra node flags for every measurement process (e.g. --cpu-prof; see setChildNodeArgs). */
let childNodeArgs: string[] = [];

/** Node flags added to every measurement process forked after this call (bench/pipeline.ts --profile). */
export function setChildNodeArgs(args: readonly string[]): void {
  childNodeArgs = [...args];
}

/** Aborted on SIGINT/SIGTERM: the producing loops stop at their next request. */
export const interrupt = new AbortController();

function checkInterrupt(): void {
  if (interrupt.signal.aborted) throw new Error('interrupted');
}

/**
 * Stops the measurement processes still running: asks each to stop (so it
 * leaves its consumer group), kills it after `graceMs`; resolves when all exited.
 */
export async function stopChildren(graceMs = 10_000): Promise<void> {
  await Promise.all(
    [...live].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const kill = setTimeout(() => c.kill('SIGKILL'), graceMs);
          c.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          if (c.connected) c.send({ type: 'stop' } satisfies ToChild);
          else c.kill('SIGKILL');
        }),
    ),
  );
}

export type DoneMessage = Extract<ToParent, { type: 'done' }>;

export interface ChildOptions {
  /** Pin the process (all its threads) to this CPU: runs node under `taskset -c CPU`. */
  cpu?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** One forked measurement process. */
export class ChildRun {
  readonly ready: Promise<string | undefined>;
  readonly done: Promise<DoneMessage>;
  readonly memory: MemorySnapshot[] = [];
  /** Every assignment the consumer reported, in order (pipeline variants). */
  readonly assignments: number[][] = [];
  /** The CPUs the process may run on (Cpus_allowed_list), once ready. */
  cpus: string | undefined;
  acked = 0;
  private readonly child: ChildProcess;
  private readonly progressWaiters = new Set<() => void>();

  constructor(task: WorkerTask, options: ChildOptions = {}) {
    // fork spawns execPath with [...execArgv, module, ...args]: with taskset as execPath, node runs pinned from its first thread on
    const node = ['--expose-gc', ...childNodeArgs];
    const pin = options.cpu !== undefined ? { execPath: 'taskset', execArgv: ['-c', String(options.cpu), process.execPath, ...node] } : { execArgv: node };
    this.child = fork(WORKER, [JSON.stringify(task)], {
      ...pin,
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', KAFKAJS_NO_PARTITIONER_WARNING: '1', ...options.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    live.add(this.child);
    const killer = setTimeout(() => this.child.kill('SIGKILL'), task.deadlineMs + 30_000);
    let onReady!: (backend: string | undefined) => void;
    let notReady!: (err: unknown) => void;
    this.ready = new Promise((resolve, reject) => {
      onReady = resolve;
      notReady = reject;
    });
    this.ready.catch(() => undefined);
    this.done = new Promise<DoneMessage>((resolve, reject) => {
      let result: DoneMessage | undefined;
      let failure: string | undefined;
      this.child.on('message', (m: ToParent) => {
        if (m.type === 'ready') {
          this.cpus = m.cpus;
          onReady(m.backend);
        } else if (m.type === 'assigned') {
          this.assignments.push([...m.partitions].sort((a, b) => a - b));
          this.wake();
        } else if (m.type === 'progress') this.progress(m.acked);
        else if (m.type === 'memory') {
          this.memory.push(m.snapshot);
          this.progress(m.snapshot.acked);
        } else if (m.type === 'done') result = m;
        else if (m.type === 'failed') failure = m.message;
      });
      this.child.on('exit', (code, signal) => {
        clearTimeout(killer);
        live.delete(this.child);
        this.wake();
        if (result !== undefined && code === 0) resolve(result);
        else reject(new Error(failure ?? `${task.variant} worker exited with ${signal ?? `code ${code}`} before reporting`));
      });
    });
    // a child that dies before it is ready rejects ready as well
    this.done.catch((err: unknown) => notReady(err));
  }

  private progress(acked: number): void {
    this.acked = Math.max(this.acked, acked);
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.progressWaiters]) w();
  }

  /** Resolves at the next progress report, or after `ms`. */
  nextProgress(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const w = () => {
        clearTimeout(t);
        this.progressWaiters.delete(w);
        resolve();
      };
      const t = setTimeout(w, ms);
      this.progressWaiters.add(w);
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  tell(m: ToChild): void {
    if (this.running) this.child.send(m);
  }
}

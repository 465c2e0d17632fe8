/**
 * Helpers for the pipeline tests against a real broker (KAFKA_BROKERS, see
 * deploy/kafka/README.md): unique topics, test posts and garbage payloads,
 * a background collector of the worker's outputs (read_committed), spawning
 * `mentionflow run` as a child process, and a tiny model on disk. Every wait
 * is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from '../../pipeline/kafka/kafkajs.js';
import { projectRoot } from '../../cli/defaults.js';
import { deleteTopics } from '../../pipeline/kafka/topicAdmin.js';
import { readTopic } from '../../pipeline/kafka/topicReader.js';
import { openTopicWriter } from '../../pipeline/kafka/topicWriter.js';
import { encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { DeadLetter, Post, PostMentions } from '../../schemas/types.generated.js';
import { post } from '../operators/helpers.js';
import { testBackend } from './backend.js';
import { tinyModel } from './tiny.js';

const { Kafka, logLevel } = kafkajs;

process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

export const KAFKA_SKIP =
  'KAFKA_BROKERS is not set: start the test broker (out="$(bash deploy/kafka/start.sh)" && export "$out") to run the Kafka integration tests';

/** The brokers of the test cluster, or undefined when KAFKA_BROKERS is unset. */
export function kafkaBrokers(): string[] | undefined {
  const list = process.env.KAFKA_BROKERS?.trim();
  return list ? list.split(',').map((b) => b.trim()) : undefined;
}

/** A topic/group name no other test run uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Resolves with the promise's value, or rejects after `ms` naming what was awaited. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `cond` until true; rejects after `ms` with `what` (and `detail()`, if given). */
export async function waitUntil(cond: () => boolean, ms: number, what: string, detail?: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${detail ? `: ${detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The input, output and dead-letter topics (and group) of one test. */
export interface TestTopics {
  input: string;
  output: string;
  deadLetter: string;
  group: string;
}

export async function createTestTopics(brokers: string[], prefix: string, partitions = 3): Promise<TestTopics> {
  const t = {
    input: uniqueName(`${prefix}-in`),
    output: uniqueName(`${prefix}-out`),
    deadLetter: uniqueName(`${prefix}-dl`),
    group: uniqueName(`${prefix}-group`),
  };
  const admin = new Kafka({ clientId: 'mentionflow-test', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = [t.input, t.output, t.deadLetter];
    const end = Date.now() + 15_000;
    try {
      await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: partitions })) });
    } catch (err) {
      // A broker just restarted can answer the wait for leaders with a
      // retriable UNKNOWN_TOPIC_OR_PARTITION: the topics exist; wait below.
      if ((err as { retriable?: boolean }).retriable !== true) throw err;
    }
    // On a loaded broker the new topics can take a moment to show in metadata.
    while (true) {
      try {
        const md = await admin.fetchTopicMetadata({ topics });
        if (md.topics.every((x) => x.partitions.length === partitions && x.partitions.every((p) => p.leader >= 0))) break;
      } catch (err) {
        if (Date.now() > end) throw err;
      }
      if (Date.now() > end) throw new Error(`topics ${topics.join(', ')} have no leaders after 15 s`);
      await sleep(100);
    }
  } finally {
    await admin.disconnect();
  }
  return t;
}

export async function deleteTestTopics(brokers: string[], t: TestTopics): Promise<void> {
  await deleteTopics({ brokers, topics: [t.input, t.output, t.deadLetter] }).catch(() => undefined);
}

/** A valid test post. */
export function testPost(id: string, i: number): Post {
  const texts = ['今天在北京见到了马云，他说阿里巴巴明年还要招人。', '上海下雨了😀小王约我明天去外滩散步', '那位老板昨天在深圳开了发布会，腾讯的人也来了', '今天什么也没干，睡了一整天。'];
  return post(id, `${texts[i % texts.length]} #${i}`, { author_id: `u${i % 97}`, created_at: 1_700_000_000_000 + i * 1000 });
}

export function encodePost(post: Post): Buffer {
  return encodeStrict(loadSchema('post'), post);
}

/**
 * A payload that is not a Post, of one of three kinds (by `i % 3`): random
 * bytes (starting with a negative string length, so they can never decode),
 * a truncated Post, and a record of another schema (a LabeledExample).
 */
export function garbagePayload(i: number): Buffer {
  switch (i % 3) {
    case 0:
      return Buffer.concat([Buffer.from([0x01]), randomBytes(8 + (i % 50))]);
    case 1: {
      const full = encodePost(testPost(`truncated-${i}`, i));
      return full.subarray(0, Math.floor(full.length / 2));
    }
    default:
      return encodeStrict(loadSchema('example'), {
        id: `ex-${i}`,
        text: '张三在北京工作',
        spans: [{ start: 0, end: 2, label: 'PER.NAM' }],
        segmentation: null,
        source: 'weibo',
        created_at: 1_700_000_000_000,
      });
  }
}

/** The first event hour of `inputRecords(..., hours)`: 2024-05-01 08:00 UTC. */
export const EVENT_BASE = Date.UTC(2024, 4, 1, 8, 0, 0);

export interface InputRecord {
  key: string;
  value: Buffer;
}

/**
 * `total` input records: valid posts keyed by their id ("<prefix>-<n>"), and
 * every `garbageEvery`-th one a bad payload keyed "bad-<n>" (0: none). With
 * `hours` > 0 the posts' event times are spread over that many hours from
 * 2024-05-01 08:00 UTC, interleaved, so an archive sink has files of several
 * hour folders open at once.
 */
export function inputRecords(total: number, prefix: string, garbageEvery = 100, hours = 0): { records: InputRecord[]; ids: string[]; badKeys: string[] } {
  const records: InputRecord[] = [];
  const ids: string[] = [];
  const badKeys: string[] = [];
  for (let i = 0; i < total; i++) {
    if (garbageEvery > 0 && i % garbageEvery === garbageEvery - 1) {
      const key = `bad-${i}`;
      badKeys.push(key);
      records.push({ key, value: garbagePayload(badKeys.length) });
    } else {
      const id = `${prefix}-${i}`;
      ids.push(id);
      const p = testPost(id, i);
      records.push({ key: id, value: encodePost(hours > 0 ? { ...p, created_at: EVENT_BASE + ((i * 7919) % hours) * 3_600_000 + i } : p) });
    }
  }
  return { records, ids, badKeys };
}

/**
 * Writes records (acks=all), `chunk` per request, optionally pausing between
 * chunks; once `hurry()` returns true, the rest in requests of 5,000 without pauses.
 */
export async function produceRecords(
  brokers: string[],
  topic: string,
  records: readonly InputRecord[],
  opts: { chunk?: number; pauseMs?: number; hurry?: () => boolean } = {},
): Promise<void> {
  const { chunk = 1000, pauseMs = 0, hurry = () => false } = opts;
  const writer = await openTopicWriter({ brokers, topic });
  try {
    for (let i = 0; i < records.length; ) {
      const n = hurry() ? Math.max(chunk, 5000) : chunk;
      await writer.send(records.slice(i, i + n));
      i += n;
      if (pauseMs > 0 && !hurry()) await sleep(pauseMs);
    }
  } finally {
    await writer.close();
  }
}

/**
 * Reads the output and dead-letter topics from the beginning, read_committed
 * by default (what a downstream consumer sees), counting each post id and
 * each dead letter's original key.
 */
export class OutputCollector {
  readonly mentions = new Map<string, number>();
  /** Every mention record read, in the order read. */
  readonly mentionRecords: PostMentions[] = [];
  readonly deadLetters = new Map<string, number>();
  readonly deadLetterRecords: DeadLetter[] = [];
  private readonly abort = new AbortController();
  private readonly reading: Promise<unknown>;

  private constructor(brokers: string[], t: TestTopics, readUncommitted: boolean) {
    const mentionsType = loadSchema('mentions');
    const deadLetterType = loadSchema('deadletter');
    const group = uniqueName('collector');
    this.reading = Promise.all([
      readTopic({
        brokers,
        topic: t.output,
        groupId: `${group}-m`,
        fromBeginning: true,
        readUncommitted,
        signal: this.abort.signal,
        onRecord: (r) => {
          const m = mentionsType.fromBuffer(r.value as Buffer) as PostMentions;
          this.mentions.set(m.post_id, (this.mentions.get(m.post_id) ?? 0) + 1);
          this.mentionRecords.push(m);
        },
      }),
      readTopic({
        brokers,
        topic: t.deadLetter,
        groupId: `${group}-d`,
        fromBeginning: true,
        readUncommitted,
        signal: this.abort.signal,
        onRecord: (r) => {
          const d = deadLetterType.fromBuffer(r.value as Buffer) as DeadLetter;
          const key = d.key?.toString('utf8') ?? '(null)';
          this.deadLetters.set(key, (this.deadLetters.get(key) ?? 0) + 1);
          this.deadLetterRecords.push(d);
        },
      }),
    ]);
    this.reading.catch(() => undefined);
  }

  /** Starts reading; `readUncommitted` also counts records of open and aborted transactions. */
  static start(brokers: string[], t: TestTopics, opts: { readUncommitted?: boolean } = {}): OutputCollector {
    return new OutputCollector(brokers, t, opts.readUncommitted ?? false);
  }

  /** Total records read (both topics). */
  get total(): number {
    let n = 0;
    for (const c of this.mentions.values()) n += c;
    for (const c of this.deadLetters.values()) n += c;
    return n;
  }

  /** Waits until every id and key has been seen at least once. */
  async waitForAll(ids: readonly string[], badKeys: readonly string[], ms: number): Promise<void> {
    await waitUntil(
      () => ids.every((id) => this.mentions.has(id)) && badKeys.every((k) => this.deadLetters.has(k)),
      ms,
      'every input to have its output',
      () => `${ids.filter((id) => !this.mentions.has(id)).length} mention record(s) and ${badKeys.filter((k) => !this.deadLetters.has(k)).length} dead letter(s) missing`,
    );
  }

  /** Waits until no new record has arrived for `quietMs` (bounded by `ms`), to catch late duplicates. */
  async settle(quietMs: number, ms: number): Promise<void> {
    const end = Date.now() + ms;
    let last = this.total;
    let since = Date.now();
    while (Date.now() - since < quietMs && Date.now() < end) {
      await sleep(100);
      if (this.total !== last) {
        last = this.total;
        since = Date.now();
      }
    }
  }

  /** Ids seen more than once. */
  duplicates(): string[] {
    return [...this.mentions, ...this.deadLetters].filter(([, n]) => n > 1).map(([k]) => k);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await within(this.reading.catch(() => undefined), 15_000, 'the output collector to stop');
  }
}

/** The consumer group's committed offsets of a topic, by partition ('-1': none). */
export async function committedOffsets(brokers: string[], groupId: string, topic: string): Promise<Map<number, string>> {
  const admin = new Kafka({ clientId: 'mentionflow-test', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

/** The end offset (high watermark) of each partition of a topic. */
export async function endOffsets(brokers: string[], topic: string): Promise<Map<number, string>> {
  const admin = new Kafka({ clientId: 'mentionflow-test', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((p) => [p.partition, p.high]));
  } finally {
    await admin.disconnect();
  }
}

/** `mentionflow run ...` (or any command) as a child process, with its output captured. */
export interface Cli {
  readonly proc: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** Waits until stderr matches (bounded); rejects at once if the process exits first. */
  waitForStderr(re: RegExp, ms: number): Promise<void>;
  /** Kills the process (SIGKILL by default) if still running. */
  kill(signal?: NodeJS.Signals): void;
}

export function cliPath(): string {
  return join(projectRoot(), 'dist', 'cli', 'main.js');
}

/** `wrapper`: a command the CLI's node runs under, e.g. ['qemu-x86_64', '-cpu', 'Nehalem'] (test/native/cpuModels.test.ts). */
export function spawnCli(args: readonly string[], env: Record<string, string> = {}, wrapper: readonly string[] = []): Cli {
  const started = Date.now();
  const command = [...wrapper, process.execPath, cliPath(), ...args];
  const proc = spawn(command[0]!, command.slice(1), {
    env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const cli: Cli = {
    proc,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - started }))),
    waitForStderr: async (re, ms) => {
      await waitUntil(() => re.test(cli.stderr) || proc.exitCode !== null || proc.signalCode !== null, ms, `${re} on the worker's stderr`, () => cli.stderr.slice(-2000));
      if (!re.test(cli.stderr)) throw new Error(`the process exited (${proc.exitCode ?? proc.signalCode}) before ${re} appeared on its stderr: ${cli.stderr.slice(-2000)}`);
    },
    kill: (signal = 'SIGKILL') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
  };
  proc.stdout?.on('data', (d: Buffer) => (cli.stdout += d.toString('utf8')));
  proc.stderr?.on('data', (d: Buffer) => (cli.stderr += d.toString('utf8')));
  return cli;
}

/** Arguments of `mentionflow run` for a test's topics. */
export function runArgs(brokers: string[], t: TestTopics, model: string, extra: readonly string[] = []): string[] {
  return [
    'run',
    '--brokers', brokers.join(','),
    '--input-topic', t.input,
    '--output-topic', t.output,
    '--dead-letter-topic', t.deadLetter,
    '--group-id', t.group,
    '--model', model,
    '--session-timeout-ms', '6000',
    '--commit-interval-ms', '200',
    '--log-level', 'info',
    ...extra,
  ];
}

/** Saves an (untrained) tiny model to `dir` for the CLI to load; returns `dir`. */
export async function saveTinyModel(dir: string): Promise<string> {
  await testBackend();
  const model = tinyModel();
  try {
    await model.save(dir, { training: { seed: 1, epochs: 0, bestEpoch: 0, data: [], options: {} }, scores: {} });
  } finally {
    model.dispose();
  }
  return dir;
}

/**
 * What an archive test against the broker starts from: its topics (`partitions`
 * input partitions), a temporary archive folder, and the list of CLI processes
 * it spawns; after the test every process is resumed (a test may have stopped
 * one with SIGSTOP) and killed, the topics deleted and the folder removed.
 */
export async function archiveTestBed(t: { after(fn: () => Promise<void>): void }, brokers: string[], name: string, partitions: number): Promise<{ topics: TestTopics; dir: string; running: Cli[] }> {
  const topics = await createTestTopics(brokers, name, partitions);
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const running: Cli[] = [];
  t.after(async () => {
    for (const c of running) {
      c.kill('SIGCONT');
      c.kill();
    }
    await deleteTestTopics(brokers, topics);
    rmSync(dir, { recursive: true, force: true });
  });
  return { topics, dir, running };
}

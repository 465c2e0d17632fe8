/**
 * The failure scenarios of the README's failure model, each run against a
 * real broker with `mentionflow run` as a child process, each returning one
 * row of the table: how many times the event was caused, how many inputs
 * lost or duplicated (read back from the output topics), and what the
 * operator saw (exit codes, readiness). test/faults/faults.test.ts runs each
 * once or twice in CI; test/faults/run.ts runs them dozens of times and
 * prints the table (see the README's failure model).
 *
 * Loss and duplication are counted per input record: every input (valid post
 * or garbage payload) must end as exactly one output (a mention record or a
 * dead letter). Duplicates are counted as a read_committed consumer sees them.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeadLetter } from '../../schemas/types.generated.js';
import { OwnBroker, freePortPair } from '../support/broker.js';
import {
  OutputCollector,
  createTestTopics,
  deleteTestTopics,
  encodePost,
  inputRecords,
  produceRecords,
  runArgs,
  spawnCli,
  testPost,
  waitUntil,
  within,
  type Cli,
  type InputRecord,
  type TestTopics,
} from '../support/kafka.js';
import { post } from '../operators/helpers.js';
import { FAULT_THREAD_EXIT_ENV } from '../../cli/commands/run.js';

export type Delivery = 'at-least-once' | 'exactly-once';

/** One row of the failure-model table. */
export interface FaultRow {
  event: string;
  runs: number;
  inputs: number;
  lost: number;
  duplicated: number;
  /** Exit codes (or signals) of the workers the event ended, counted: e.g. "0 x20". */
  exits: string;
  /** What /readyz said around the event, if watched. */
  readiness: string;
  notes: string;
}

/** Counts of exit outcomes, e.g. "0 x19, 1 x1". */
function tally(outcomes: string[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o, (counts.get(o) ?? 0) + 1);
  return [...counts].map(([o, n]) => `${o} x${n}`).join(', ') || '-';
}

/** A row for a scenario whose exits are tallied and whose readiness was not watched. */
function tallied(event: string, runs: number, inputs: number, counted: { lost: number; duplicated: number }, exits: string[], notes: string): FaultRow {
  return { event, runs, inputs, lost: counted.lost, duplicated: counted.duplicated, exits: tally(exits), readiness: '-', notes };
}

const outcome = (e: { code: number | null; signal: NodeJS.Signals | null }): string => (e.signal !== null ? e.signal : String(e.code));

/** Reads both output topics from the beginning until every input has an output (or `ms` pass), then counts. */
async function account(brokers: string[], t: TestTopics, ids: readonly string[], badKeys: readonly string[], ms: number): Promise<{ lost: number; duplicated: number; collector: OutputCollector }> {
  const collector = OutputCollector.start(brokers, t);
  try {
    await collector.waitForAll(ids, badKeys, ms).catch(() => undefined);
    await collector.settle(2_000, 20_000);
  } finally {
    await collector.stop();
  }
  const lost = ids.filter((id) => !collector.mentions.has(id)).length + badKeys.filter((k) => !collector.deadLetters.has(k)).length;
  return { lost, duplicated: collector.duplicates().length, collector };
}

/** A last worker (`args`) finishes the topic: both output topics are counted (account), then it is stopped with SIGTERM. */
async function finishWith(brokers: string[], t: TestTopics, args: readonly string[], ids: readonly string[], badKeys: readonly string[]): Promise<{ lost: number; duplicated: number; collector: OutputCollector }> {
  const last = spawnCli(args);
  try {
    const counted = await account(brokers, t, ids, badKeys, 300_000);
    last.kill('SIGTERM');
    await within(last.exited, 60_000, 'the last worker to stop');
    return counted;
  } finally {
    last.kill();
  }
}

/** Polls /readyz of a worker every 100 ms and records each change ("ready" / "not ready"). */
class ReadinessWatch {
  readonly changes: { at: number; ready: boolean }[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(port: number) {
    this.loop = (async () => {
      while (this.running) {
        let ready = false;
        try {
          const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
          ready = res.status === 200;
        } catch {
          ready = false;
        }
        const last = this.changes.at(-1);
        if (last === undefined || last.ready !== ready) this.changes.push({ at: Date.now(), ready });
        await sleep(100);
      }
    })();
  }

  get ready(): boolean {
    return this.changes.at(-1)?.ready === true;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** A worker with an ops port, so readiness can be watched. */
async function startWorker(brokers: string[], t: TestTopics, model: string, extra: readonly string[]): Promise<{ cli: Cli; port: number }> {
  const port = await freePortPair(19500);
  const cli = spawnCli(runArgs(brokers, t, model, ['--metrics-port', String(port), ...extra]));
  await cli.waitForStderr(/"msg":"partitions assigned"/, 90_000);
  return { cli, port };
}

export interface SigtermOptions {
  brokers: string[];
  model: string;
  runs: number;
  delivery: Delivery;
  /** Posts per run (default 3000). */
  postsPerRun?: number;
}

/**
 * SIGTERM mid-stream, `runs` times: each run starts a worker on the same
 * group, lets it tag for a moment, sends SIGTERM while it is busy, and
 * expects exit 0 after a drain. A last worker finishes the topic. With the
 * shipped model: the native kernels are busy when the signal arrives.
 */
export async function sigtermMidStream(opts: SigtermOptions): Promise<FaultRow> {
  const { brokers, model, runs, delivery, postsPerRun = 3000 } = opts;
  const t = await createTestTopics(brokers, `sigterm-${delivery === 'exactly-once' ? 'eos' : 'alo'}`);
  const { records, ids, badKeys } = inputRecords(runs * postsPerRun, 's');
  const exits: string[] = [];
  const aborts: string[] = [];
  const extra = ['--delivery', delivery];
  try {
    await produceRecords(brokers, t.input, records, { chunk: 2000 });
    for (let r = 0; r < runs; r++) {
      const cli = spawnCli(runArgs(brokers, t, model, extra));
      await cli.waitForStderr(/"msg":"partitions assigned"/, 90_000);
      // Busy for 1-3 s: the tagger computes when the signal arrives.
      await sleep(1000 + Math.random() * 2000);
      cli.kill('SIGTERM');
      const ended = await within(cli.exited, 60_000, 'the worker to stop after SIGTERM');
      exits.push(outcome(ended));
      if (/corrupted|free\(\)|double free|malloc|Aborted/.test(cli.stderr) || ended.signal === 'SIGABRT') aborts.push(`run ${r}`);
    }
    const counted = await finishWith(brokers, t, runArgs(brokers, t, model, extra), ids, badKeys);
    return tallied(`SIGTERM mid-stream (${delivery})`, runs, ids.length + badKeys.length, counted, exits, aborts.length === 0 ? '0 aborts' : `aborts in ${aborts.join(', ')}`);
  } finally {
    await deleteTestTopics(brokers, t);
  }
}

export interface BrokerFaultOptions {
  broker: OwnBroker;
  model: string;
  delivery: Delivery;
  /** How many outages, one after another, while the worker runs. */
  outages: number;
  /** 'kill': kill -9 then start again; 'stop': a clean stop (controlled shutdown) then start again. */
  kind: 'kill' | 'stop';
  /** Time the broker stays down (default 15 s). */
  downMs?: number;
  posts?: number;
}

/**
 * The broker goes down `outages` times while one worker runs (posts keep
 * arriving between outages) and comes back within the outage bound: the
 * worker must ride through (never exit), /readyz must go false during each
 * outage and true after, and every input must end as exactly one output
 * (exactly-once: also as read_committed; at-least-once: duplicates counted).
 */
export async function brokerOutages(opts: BrokerFaultOptions): Promise<FaultRow> {
  const { broker, model, delivery, outages, kind, downMs = 15_000, posts = 4000 } = opts;
  const brokers = broker.brokers;
  const t = await createTestTopics(brokers, `outage-${kind}`);
  const { records, ids, badKeys } = inputRecords(posts, `o${kind}`);
  const chunk = Math.ceil(records.length / (outages + 1));
  const { cli, port } = await startWorker(brokers, t, model, ['--delivery', delivery, '--max-broker-outage-ms', '120000']);
  const watch = new ReadinessWatch(port);
  let notReadyDuring = 0;
  let readyAfter = 0;
  try {
    for (let i = 0; i <= outages; i++) {
      await produceRecords(brokers, t.input, records.slice(i * chunk, (i + 1) * chunk), { chunk: 500 });
      if (i === outages) break;
      await sleep(1500); // mid-stream: records in flight
      // Taken before the broker is told to go: a clean stop takes seconds, and readiness may turn false during it.
      const down = Date.now();
      if (kind === 'kill') await broker.kill9();
      else await broker.stopClean();
      await sleep(downMs);
      if (watch.changes.some((c) => c.at >= down && !c.ready)) notReadyDuring++;
      await broker.startAgain();
      await waitUntil(() => watch.ready || cli.proc.exitCode !== null, 120_000, '/readyz to answer 200 again').catch(() => undefined);
      if (watch.ready) readyAfter++;
      assert.equal(cli.proc.exitCode, null, `the worker exited during outage ${i + 1}: ${cli.stderr.slice(-1500)}`);
    }
    const { lost, duplicated } = await account(brokers, t, ids, badKeys, 180_000);
    const running = cli.proc.exitCode === null;
    cli.kill('SIGTERM');
    const ended = await within(cli.exited, 60_000, 'the worker to stop');
    return {
      event: `broker ${kind === 'kill' ? 'kill -9' : 'clean stop'} + restart after ${downMs / 1000} s (${delivery})`,
      runs: outages,
      inputs: ids.length + badKeys.length,
      lost,
      duplicated,
      exits: running ? `rode through; SIGTERM at the end: ${outcome(ended)}` : `exited ${outcome(ended)} (defect)`,
      readiness: `false during ${notReadyDuring}/${outages}, true after ${readyAfter}/${outages}`,
      notes: '',
    };
  } finally {
    await watch.stop();
    cli.kill();
    await deleteTestTopics(brokers, t).catch(() => undefined);
  }
}

/**
 * The broker stays down longer than --max-broker-outage-ms: the worker must
 * exit 1 promptly (about the bound after the first failure); a worker started
 * once the broker is back finishes the topic, losing nothing.
 */
export async function outageBeyondBound(opts: { broker: OwnBroker; model: string; delivery: Delivery; boundMs?: number }): Promise<FaultRow> {
  const { broker, model, delivery, boundMs = 8000 } = opts;
  const brokers = broker.brokers;
  const t = await createTestTopics(brokers, 'outage-bound');
  const { records, ids, badKeys } = inputRecords(3000, 'ob');
  const args = ['--delivery', delivery, '--max-broker-outage-ms', String(boundMs)];
  const { cli } = await startWorker(brokers, t, model, args);
  try {
    await produceRecords(brokers, t.input, records.slice(0, 1500), { chunk: 500 });
    await sleep(1000);
    await broker.stopClean();
    const down = Date.now();
    const ended = await within(cli.exited, boundMs + 60_000, 'the worker to give up after the bound');
    const exitAfterMs = Date.now() - down;
    await broker.startAgain();
    await produceRecords(brokers, t.input, records.slice(1500), { chunk: 500 });
    const next = spawnCli(runArgs(brokers, t, model, args));
    const { lost, duplicated } = await account(brokers, t, ids, badKeys, 180_000);
    next.kill('SIGTERM');
    await within(next.exited, 60_000, 'the second worker to stop');
    return {
      event: `broker down longer than the bound (${boundMs / 1000} s, ${delivery})`,
      runs: 1,
      inputs: ids.length + badKeys.length,
      lost,
      duplicated,
      exits: `${outcome(ended)} after ${(exitAfterMs / 1000).toFixed(1)} s`,
      readiness: '-',
      notes: /Kafka unreachable for \d+ s, longer than the bound/.test(cli.stderr) ? 'one-line reason logged' : 'reason not found in the log',
    };
  } finally {
    cli.kill();
    await deleteTestTopics(brokers, t).catch(() => undefined);
  }
}

/**
 * A ~960 KB post whose mentions make a PostMentions record larger than the
 * output topic accepts (Kafka's default 1 MiB): the shipped model finds
 * 80,000 mentions in it, about 1.9 MB as a record.
 */
export function hugePost(id: string): InputRecord {
  const unit = '张三李四王五赵六北京上海广州深圳';
  const text = unit.repeat(Math.ceil(960_000 / Buffer.byteLength(unit)));
  return { key: id, value: encodePost(post(id, text, { author_id: 'u-huge', created_at: 1_700_000_000_000 })) };
}

/**
 * A post whose mention record is too large for the output topic (hugePost)
 * amid ordinary posts: it must
 * become one dead letter (RecordTooLargeError, with the post's key and
 * source offset), the posts around it mention records, and the worker must
 * keep running.
 */
export async function poisonOutput(opts: { brokers: string[]; model: string; delivery: Delivery }): Promise<FaultRow> {
  const { brokers, model, delivery } = opts;
  const t = await createTestTopics(brokers, 'poison');
  const before = Array.from({ length: 200 }, (_, i) => ({ key: `pb-${i}`, value: encodePost(testPost(`pb-${i}`, i)) }));
  const after = Array.from({ length: 200 }, (_, i) => ({ key: `pa-${i}`, value: encodePost(testPost(`pa-${i}`, i)) }));
  const ids = [...before, ...after].map((r) => r.key);
  const huge = hugePost('huge-1');
  const { cli } = await startWorker(brokers, t, model, ['--delivery', delivery]);
  try {
    // The huge record goes in a request of its own (a produce request holds at most max.message.bytes per partition).
    await produceRecords(brokers, t.input, before, { chunk: 100 });
    await produceRecords(brokers, t.input, [huge], { chunk: 1 });
    await produceRecords(brokers, t.input, after, { chunk: 100 });
    const { lost, duplicated, collector } = await account(brokers, t, ids, [huge.key], 240_000);
    const dl: DeadLetter | undefined = collector.deadLetterRecords.find((d) => d.key?.toString() === huge.key);
    const running = cli.proc.exitCode === null;
    cli.kill('SIGTERM');
    const ended = await within(cli.exited, 60_000, 'the worker to stop');
    return {
      event: `output the broker would reject (960 KB post, ${delivery})`,
      runs: 1,
      inputs: ids.length + 1,
      lost,
      duplicated,
      exits: running ? `kept running; SIGTERM: ${outcome(ended)}` : `exited ${outcome(ended)} (defect)`,
      readiness: '-',
      notes: dl === undefined ? 'no dead letter for the huge post' : `dead letter ${dl.stage}/${dl.error_class}, payload ${dl.payload.length} bytes`,
    };
  } finally {
    cli.kill();
    await deleteTestTopics(brokers, t);
  }
}

/**
 * Two exactly-once workers on one host with the default transactional ids
 * (one per input partition, `<group>-<topic>-<partition>`): they must share
 * the partitions without fencing each other, and a read_committed reader sees
 * each output once.
 */
export async function twoExactlyOnceWorkersOneHost(opts: { brokers: string[]; model: string }): Promise<FaultRow> {
  const { brokers, model } = opts;
  const t = await createTestTopics(brokers, 'eos-two');
  const { records, ids, badKeys } = inputRecords(4000, 'e2');
  const args = (name: string) => runArgs(brokers, t, model, ['--client-id', name, '--delivery', 'exactly-once']);
  const a = spawnCli(args('worker-a'));
  const b = spawnCli(args('worker-b'));
  try {
    await a.waitForStderr(/"msg":"partitions assigned"/, 90_000);
    await b.waitForStderr(/"msg":"partitions assigned"/, 90_000);
    await produceRecords(brokers, t.input, records, { chunk: 500, pauseMs: 50 });
    const { lost, duplicated } = await account(brokers, t, ids, badKeys, 180_000);
    const alive = [a, b].filter((w) => w.proc.exitCode === null).length;
    a.kill('SIGTERM');
    b.kill('SIGTERM');
    const exits = [outcome(await within(a.exited, 60_000, 'worker a')), outcome(await within(b.exited, 60_000, 'worker b'))];
    const claims = [a, b].map((w) => [...w.stderr.matchAll(/"msg":"input partition claimed".*?"partition":(\d+)/g)].map((m) => m[1]).join(','));
    return {
      event: 'two exactly-once workers on one host (default transactional ids)',
      runs: 1,
      inputs: ids.length + badKeys.length,
      lost,
      duplicated,
      exits: `${alive}/2 alive until SIGTERM; then ${tally(exits)}`,
      readiness: '-',
      notes: `partitions claimed ${claims.map((c) => `[${c}]`).join(' and ')}${/fenced/.test(a.stderr + b.stderr) ? '; FENCED' : ', no fencing'}`,
    };
  } finally {
    a.kill();
    b.kill();
    await deleteTestTopics(brokers, t);
  }
}

/**
 * A worker frozen (SIGSTOP) longer than the session timeout while a second
 * worker shares the group, then resumed (SIGCONT): what a long GC pause or a
 * network partition does. Its partitions move to the other worker; when it
 * wakes up it must either rejoin or stop (fenced), and every input must end
 * as one output (exactly-once) or at least one (at-least-once).
 */
export async function pausedWorker(opts: { brokers: string[]; model: string; delivery: Delivery; pauses: number; pauseMs?: number }): Promise<FaultRow> {
  const { brokers, model, delivery, pauses, pauseMs = 16_000 } = opts;
  const t = await createTestTopics(brokers, `pause-${delivery === 'exactly-once' ? 'eos' : 'alo'}`);
  const { records, ids, badKeys } = inputRecords(1500 * (pauses + 1), 'pz');
  const chunk = Math.ceil(records.length / (pauses + 1));
  const args = (name: string) => runArgs(brokers, t, model, ['--client-id', name, '--delivery', delivery]);
  const a = spawnCli(args('worker-a'));
  const b = spawnCli(args('worker-b'));
  const ends: string[] = [];
  try {
    await a.waitForStderr(/"msg":"partitions assigned"/, 90_000);
    await b.waitForStderr(/"msg":"partitions assigned"/, 90_000);
    for (let i = 0; i <= pauses; i++) {
      const producing = produceRecords(brokers, t.input, records.slice(i * chunk, (i + 1) * chunk), { chunk: 100, pauseMs: 50 });
      if (i < pauses && a.proc.exitCode === null) {
        await sleep(800); // a is mid-stream
        a.proc.kill('SIGSTOP');
        await sleep(pauseMs);
        a.proc.kill('SIGCONT');
      }
      await producing;
    }
    const { lost, duplicated } = await account(brokers, t, ids, badKeys, 180_000);
    if (process.env.MENTIONFLOW_FAULT_LOGS !== undefined) {
      writeFileSync(`${process.env.MENTIONFLOW_FAULT_LOGS}-a.log`, a.stderr);
      writeFileSync(`${process.env.MENTIONFLOW_FAULT_LOGS}-b.log`, b.stderr);
    }
    for (const w of [a, b]) {
      if (w.proc.exitCode === null && w.proc.signalCode === null) {
        w.kill('SIGTERM');
        ends.push(`SIGTERM: ${outcome(await within(w.exited, 60_000, 'a worker to stop'))}`);
      } else {
        ends.push(`exited ${outcome(await w.exited)}${/fenced/.test(w.stderr) ? ' (fenced)' : ''}`);
      }
    }
    return {
      event: `worker frozen ${pauseMs / 1000} s (SIGSTOP, longer than the 6 s session), then resumed (${delivery})`,
      runs: pauses,
      inputs: ids.length + badKeys.length,
      lost,
      duplicated,
      exits: ends.join('; '),
      readiness: '-',
      notes: '',
    };
  } finally {
    a.proc.kill('SIGCONT');
    a.kill();
    b.kill();
    await deleteTestTopics(brokers, t);
  }
}

/**
 * The output topic's max.message.bytes is lowered while a worker runs, below
 * the size of a mention record it then has to write: the broker refuses the
 * record for good. The policy: the worker stops (exit 1) without committing
 * that input; the restarted worker reads the topic's new limit at start and
 * turns the record into a dead letter. Nothing is lost.
 */
export async function limitLoweredWhileRunning(opts: { brokers: string[]; model: string }): Promise<FaultRow> {
  const { brokers, model } = opts;
  const t = await createTestTopics(brokers, 'limit');
  const args = runArgs(brokers, t, model, []);
  const first = spawnCli(args);
  // A post of ~300 KB (100,000 characters): its mention record (the shipped model finds ~7,000 mentions) is a few hundred KB.
  const unit = '今天马云在北京见到了马化腾，';
  const bigText = unit.repeat(Math.ceil(100_000 / unit.length));
  const big = { key: 'big-1', value: encodePost(post('big-1', bigText, { author_id: 'u', created_at: 1_700_000_000_000 })) };
  const small = Array.from({ length: 100 }, (_, i) => ({ key: `ls-${i}`, value: encodePost(testPost(`ls-${i}`, i)) }));
  let second: Cli | undefined;
  try {
    await first.waitForStderr(/"msg":"partitions assigned"/, 90_000);
    await setTopicConfig(brokers, t.output, 'max.message.bytes', String(70_000));
    await produceRecords(brokers, t.input, [...small.slice(0, 50), big, ...small.slice(50)], { chunk: 10 });
    const ended = await within(first.exited, 120_000, 'the worker to stop on the refused record');
    const refused = /MESSAGE_TOO_LARGE|larger than the max message size|RECORD_LIST_TOO_LARGE|message larger/i.test(first.stderr);
    second = spawnCli(args);
    const ids = small.map((r) => r.key);
    const { lost, duplicated, collector } = await account(brokers, t, ids, [big.key], 180_000);
    const dl = collector.deadLetterRecords.find((d) => d.key?.toString() === big.key);
    second.kill('SIGTERM');
    const ended2 = await within(second.exited, 60_000, 'the second worker to stop');
    return {
      event: "output topic's max.message.bytes lowered while running (at-least-once)",
      runs: 1,
      inputs: ids.length + 1,
      lost,
      duplicated,
      exits: `first ${outcome(ended)}${refused ? ' (the broker refused the record)' : ''}; restarted, then SIGTERM: ${outcome(ended2)}`,
      readiness: '-',
      notes: dl === undefined ? 'no dead letter for the big post' : `dead letter ${dl.stage}/${dl.error_class} after the restart`,
    };
  } finally {
    first.kill();
    second?.kill();
    await deleteTestTopics(brokers, t);
  }
}

async function setTopicConfig(brokers: string[], topic: string, name: string, value: string): Promise<void> {
  const { createKafkaClient } = await import('../../pipeline/kafka/client.js');
  const admin = createKafkaClient({ brokers }).admin();
  await admin.connect();
  try {
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2 /* TOPIC */, name: topic, configEntries: [{ name, value }] }] });
  } finally {
    await admin.disconnect();
  }
}

/**
 * An inference thread dies, `deaths` times: each worker runs two inference
 * threads (`--inference thread --tagger-threads 2`) and one of them exits
 * when it is asked to tag the text of a chosen post (the test-only
 * MENTIONFLOW_FAULT_THREAD_EXIT_ON_TEXT), a different post each time, in a
 * slice of posts produced after the previous worker died. The policy: the worker exits 70 at once, before the
 * thread's calls are rejected, so no post in flight is dead-lettered or
 * committed, and the next worker tags them. A last worker, with no fault,
 * finishes the topic. With the shipped model.
 */
export async function threadDeaths(opts: { brokers: string[]; model: string; delivery: Delivery; deaths: number; postsPerDeath?: number }): Promise<FaultRow> {
  const { brokers, model, delivery, deaths, postsPerDeath = 1000 } = opts;
  const t = await createTestTopics(brokers, `thread-${delivery === 'exactly-once' ? 'eos' : 'alo'}`);
  const { records, ids, badKeys } = inputRecords(postsPerDeath * (deaths + 1), 'tk');
  const args = runArgs(brokers, t, model, ['--delivery', delivery, '--inference', 'thread', '--tagger-threads', '2']);
  const exits: string[] = [];
  const deadLettered: string[] = [];
  try {
    const slice = (r: number) => records.slice(r * postsPerDeath, (r + 1) * postsPerDeath);
    for (let r = 0; r < deaths; r++) {
      // The r-th slice arrives after the last worker died, so this worker reads its poison post (mid-way through it) for sure.
      await produceRecords(brokers, t.input, slice(r), { chunk: 2000 });
      const n = r * postsPerDeath + postsPerDeath / 2;
      const cli = spawnCli(args, { [FAULT_THREAD_EXIT_ENV]: testPost(`tk-${n}`, n).text });
      const ended = await within(cli.exited, 180_000, `worker ${r + 1} to exit when its thread dies`);
      exits.push(outcome(ended));
      if (!/"msg":"the inference thread died; exiting so that the posts in flight are read again after a restart"/.test(cli.stderr)) exits.push(`run ${r + 1}: no death logged`);
    }
    await produceRecords(brokers, t.input, slice(deaths), { chunk: 2000 });
    const { lost, duplicated, collector } = await finishWith(brokers, t, args, ids, badKeys);
    for (const key of collector.deadLetters.keys()) if (key.startsWith('tk-')) deadLettered.push(key);
    return {
      event: `an inference thread dies, one of two (${delivery})`,
      runs: deaths,
      inputs: ids.length + badKeys.length,
      lost,
      duplicated,
      exits: tally(exits),
      readiness: '-',
      notes: deadLettered.length === 0 ? 'no post dead-lettered' : `dead-lettered: ${deadLettered.join(', ')}`,
    };
  } finally {
    await deleteTestTopics(brokers, t);
  }
}

export interface EvictionOptions {
  /** A broker of the scenario's own, started with Kafka's default group.initial.rebalance.delay.ms (3000), as production brokers have. */
  broker: OwnBroker;
  model: string;
  runs: number;
  /** Posts per run (default 12000): each run's worker writes a third of them before it is frozen. */
  postsPerRun?: number;
  /** Where the workers' logs go (`<prefix>-<run>.log`), if set. */
  logs?: string;
}

/**
 * SIGTERM reaching an at-least-once worker right after its group evicted it,
 * `runs` times: each run's worker is frozen (SIGSTOP) mid-stream past its
 * 6 s session, sent SIGTERM while frozen, and resumed (SIGCONT): it handles
 * the signal the moment it wakes, while kafkajs rejoins the emptied group,
 * which takes the brokers' initial rebalance delay (3 s). Its final commits
 * are refused ("not aware of this member"); it must commit once it has
 * rejoined, exit 0, and leave nothing for its successor to write again. A
 * last worker finishes the topic. Notes: in how many runs the worker was
 * evicted (else the run tested nothing) and left offsets uncommitted.
 */
export async function sigtermAfterEviction(opts: EvictionOptions): Promise<FaultRow> {
  const { broker, model, runs, postsPerRun = 12_000 } = opts;
  const brokers = broker.brokers;
  const t = await createTestTopics(brokers, 'evicted');
  const { records, ids, badKeys } = inputRecords(runs * postsPerRun, 'ev', 500);
  const exits: string[] = [];
  let evicted = 0;
  let uncommitted = 0;
  const collector = OutputCollector.start(brokers, t);
  try {
    await produceRecords(brokers, t.input, records, { chunk: 5000 });
    for (let r = 0; r < runs; r++) {
      const cli = spawnCli(runArgs(brokers, t, model, ['--client-id', `evicted-${r}`]));
      try {
        await cli.waitForStderr(/"msg":"partitions assigned"/, 90_000);
        const before = collector.total;
        await waitUntil(() => collector.total >= before + postsPerRun / 3 || cli.proc.exitCode !== null, 120_000, 'the worker to write a third of its posts');
        cli.kill('SIGSTOP');
        await sleep(10_000); // past the 6 s session: the coordinator evicts it
        cli.kill('SIGTERM'); // pending while it is stopped, handled the moment it resumes
        cli.kill('SIGCONT');
        exits.push(outcome(await within(cli.exited, 60_000, 'the evicted worker to stop')));
      } finally {
        cli.kill('SIGCONT');
        cli.kill();
      }
      if (opts.logs !== undefined) writeFileSync(`${opts.logs}-${r}.log`, cli.stderr);
      if (/not aware of this member|"membershipLapsed":true/.test(cli.stderr)) evicted++;
      if (!/"msg":"input closed"[^\n]*"uncommitted":\[\]/.test(cli.stderr)) uncommitted++;
    }
    const counted = await finishWith(brokers, t, runArgs(brokers, t, model, ['--client-id', 'successor']), ids, badKeys);
    return tallied(
      'SIGTERM right after the group evicted the worker (frozen 10 s, longer than the 6 s session; at-least-once; brokers with the default 3 s initial rebalance delay)',
      runs,
      ids.length + badKeys.length,
      counted,
      exits,
      `evicted in ${evicted}/${runs} runs; offsets left uncommitted in ${uncommitted}`,
    );
  } finally {
    await collector.stop();
    await deleteTestTopics(brokers, t);
  }
}

export interface RollingOptions {
  brokers: string[];
  model: string;
  delivery: Delivery;
  /** How many times a new worker joins mid-stream and the previous one then stops. */
  restarts: number;
  /** Posts per restart (default 15000), all produced first: each worker works through a backlog. */
  postsPerRestart?: number;
  /**
   * Live traffic instead of a backlog: the posts come in at about this rate
   * (posts/s, well under the workers' capacity) while the workers restart, so
   * each worker keeps up with its input and its records in flight are the
   * last few batches, in the tagger or the sink, when a rebalance comes; the
   * posts left when the restarts are over are written at once.
   */
  livePostsPerSecond?: number;
}

/** Writes `records` at about `perSecond` (a chunk every 50 ms) until `hurry()`, then the rest at once; `written` resolves when all are written. */
function produceLive(brokers: string[], topic: string, records: readonly InputRecord[], perSecond: number): { hurry: () => void; written: Promise<void> } {
  let hurried = false;
  const written = produceRecords(brokers, topic, records, { chunk: Math.max(1, Math.round(perSecond / 20)), pauseMs: 50, hurry: () => hurried });
  return { hurry: () => (hurried = true), written };
}

/**
 * A rolling restart, `restarts` times, on a backlog or under live traffic
 * (`livePostsPerSecond`; 6 input partitions, the shipped model): a new worker
 * joins the group mid-stream (a rebalance: some of the old worker's
 * partitions move to it while the old one has records in flight there),
 * then the old one gets SIGTERM and drains (a second rebalance). A last
 * worker finishes the topic. At-least-once, the old worker lets the records
 * in flight finish and commits them before it rejoins (README, failure
 * model), so nothing should be written twice; without that, the ones on the
 * partitions that moved were written again by their new owner. The notes
 * count what the joins dropped from tracking (`droppedInFlight`).
 * Exactly-once: nothing twice.
 */
export async function rollingRestarts(opts: RollingOptions): Promise<FaultRow> {
  const { brokers, model, delivery, restarts, postsPerRestart = 15_000, livePostsPerSecond } = opts;
  const live = livePostsPerSecond !== undefined;
  const t = await createTestTopics(brokers, `rolling-${live ? 'live-' : ''}${delivery === 'exactly-once' ? 'eos' : 'alo'}`, 6);
  const { records, ids, badKeys } = inputRecords((restarts + 1) * postsPerRestart, 'rr', 500);
  const exits: string[] = [];
  const workers: Cli[] = [];
  const start = (i: number): Cli => {
    const cli = spawnCli(runArgs(brokers, t, model, ['--client-id', `rolling-${i}`, '--delivery', delivery]));
    workers.push(cli);
    return cli;
  };
  const assignedNow = (cli: Cli): number[] => {
    const m = [...cli.stderr.matchAll(/"msg":"partitions assigned"[^\n]*?"partitions":\[([\d,]*)\]/g)].at(-1);
    return m === undefined || m[1] === '' ? [] : m[1].split(',').map(Number);
  };
  let producing: { hurry: () => void; written: Promise<void> } | undefined;
  try {
    if (!live) await produceRecords(brokers, t.input, records, { chunk: 5000 });
    let old = start(0);
    await old.waitForStderr(/"msg":"partitions assigned"/, 90_000);
    if (live) producing = produceLive(brokers, t.input, records, livePostsPerSecond);
    for (let r = 1; r <= restarts; r++) {
      await sleep(1500); // the old worker is busy on the backlog, or keeps up with the live posts
      const next = start(r);
      await waitUntil(() => assignedNow(next).length > 0 || next.proc.exitCode !== null, 90_000, 'the new worker to be given partitions', () => next.stderr.slice(-1500));
      await sleep(1000); // both at work
      old.kill('SIGTERM');
      exits.push(outcome(await within(old.exited, 60_000, 'the old worker to drain and stop')));
      old = next;
    }
    producing?.hurry();
    await producing?.written;
    const counted = await account(brokers, t, ids, badKeys, 300_000);
    old.kill('SIGTERM');
    exits.push(outcome(await within(old.exited, 60_000, 'the last worker to stop')));
    const dropped = workers.reduce((n, w) => n + [...w.stderr.matchAll(/"droppedInFlight":(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0), 0);
    return tallied(
      `rolling restart ${live ? `under live traffic (about ${livePostsPerSecond} posts/s)` : 'on a backlog'}: a new worker joins mid-stream, then the old one stops (SIGTERM) (${delivery})`,
      restarts,
      ids.length + badKeys.length,
      counted,
      exits,
      `records in flight on partitions that moved, dropped at the joins: ${dropped}`,
    );
  } finally {
    for (const w of workers) w.kill();
    producing?.hurry();
    await producing?.written.catch(() => undefined);
    await deleteTestTopics(brokers, t);
  }
}

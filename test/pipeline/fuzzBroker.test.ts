/**
 * "Survive a production day", through the real broker: the fuzz payloads of
 * test/support/fuzzPayloads.ts (raw framing, tombstones and two posts of
 * 150,000 and 300,000 code points, ~0.45 and ~0.9 MB, included) are written
 * to a topic, one `mentionflow run` process (the tiny model) works through
 * them, and the mentions and dead-letter topics are read back.
 *
 * Checked: the worker does not exit until told to, and exits 0 after
 * SIGTERM; every input record (identified by partition and offset, read back
 * from the input topic) has exactly one output, the right one (checkOutcome
 * in fuzzCheck.ts: the oracle decides good or bad); the group committed the
 * end of every partition.
 *
 * 20,000 payloads by default (30-40 s here); MENTIONFLOW_FUZZ_BROKER_COUNT
 * sets another count, MENTIONFLOW_FUZZ_BROKER_DELIVERY=exactly-once the
 * other delivery mode (default at-least-once), MENTIONFLOW_FUZZ_BROKER_MODEL a
 * model directory instead of the tiny model (e.g. models/default).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { readTopic } from '../../pipeline/kafka/topicReader.js';
import { openTopicWriter } from '../../pipeline/kafka/topicWriter.js';
import { decodeStrict, loadSchema } from '../../schemas/registry.js';
import type { DeadLetter, PostMentions } from '../../schemas/types.generated.js';
import { checkOutcome, type FuzzInput, type FuzzOutput, type Verdict } from '../support/fuzzCheck.js';
import { FuzzPayloads, type FuzzCase } from '../support/fuzzPayloads.js';
import {
  KAFKA_SKIP,
  committedOffsets,
  createTestTopics,
  deleteTestTopics,
  endOffsets,
  kafkaBrokers,
  runArgs,
  saveTinyModel,
  spawnCli,
  uniqueName,
  waitUntil,
  within,
  type TestTopics,
} from '../support/kafka.js';

const SEED = 0x5eed_b20c;
const COUNT = Number(process.env.MENTIONFLOW_FUZZ_BROKER_COUNT ?? 20_000);
const DELIVERY = process.env.MENTIONFLOW_FUZZ_BROKER_DELIVERY ?? 'at-least-once';
const HUGE = [
  { at: Math.floor(COUNT / 3), chars: 150_000 },
  { at: Math.floor((2 * COUNT) / 3), chars: 300_000 },
];
/** encodeOutputs' default output limit (operators/encodeOutputs.ts). */
const MAX_RECORD_BYTES = 1_000_000;

let model: string;
before(async () => {
  if (kafkaBrokers() === undefined) return;
  model = process.env.MENTIONFLOW_FUZZ_BROKER_MODEL ?? (await saveTinyModel(join(mkdtempSync(join(tmpdir(), 'mf-fuzz-broker-')), 'model')));
});

const position = (partition: number, offset: string | number): string => `${partition}@${offset}`;

/** Writes the cases: most in requests of 500, the large ones alone (a request must stay under the broker's 1 MiB). */
async function produce(brokers: string[], topic: string, cases: readonly FuzzCase[]): Promise<void> {
  const writer = await openTopicWriter({ brokers, topic });
  try {
    let chunk: FuzzCase[] = [];
    let bytes = 0;
    const flush = async () => {
      // A tombstone (null value) is a legal Kafka record; the writer's type only speaks of Buffers.
      if (chunk.length > 0) await writer.send(chunk.map((c) => ({ key: c.key, value: c.value as Buffer })));
      chunk = [];
      bytes = 0;
    };
    for (const c of cases) {
      const size = (c.value?.length ?? 0) + (c.key?.length ?? 0);
      if (chunk.length >= 500 || bytes + size > 256 * 1024) await flush();
      chunk.push(c);
      bytes += size;
    }
    await flush();
  } finally {
    await writer.close();
  }
}

/** The input records as the broker stores them, by position. */
async function readInputs(brokers: string[], topic: string, count: number): Promise<Map<string, FuzzInput>> {
  const inputs = new Map<string, FuzzInput>();
  await readTopic({
    brokers,
    topic,
    groupId: uniqueName('fuzz-inputs'),
    fromBeginning: true,
    max: count,
    idleTimeoutMs: 30_000,
    onRecord: (r) => {
      inputs.set(position(r.partition, r.offset), { topic, partition: r.partition, offset: Number(r.offset), key: r.key, value: r.value });
    },
  });
  return inputs;
}

/** Reads both output topics in the background; outputs by the input position they name. */
function collectOutputs(brokers: string[], t: TestTopics, signal: AbortSignal) {
  const outputs = new Map<string, FuzzOutput[]>();
  const unattributed: string[] = [];
  let total = 0;
  const add = (pos: string, out: FuzzOutput) => {
    total++;
    const list = outputs.get(pos);
    if (list === undefined) outputs.set(pos, [out]);
    else list.push(out);
  };
  /** Reads `topic`; `inputOf` names the input position an output record is for (undefined: it names none). */
  const read = (topic: string, output: FuzzOutput['output'], inputOf: (value: Buffer) => string | undefined) =>
    readTopic({
      brokers,
      topic,
      groupId: uniqueName(`fuzz-${output}`),
      fromBeginning: true,
      signal,
      onRecord: (r) => {
        const value = r.value as Buffer;
        const pos = inputOf(value);
        if (pos === undefined) unattributed.push(`${output} record at ${r.partition}@${r.offset} names no input`);
        else add(pos, { output, key: r.key, value });
      },
    });
  const reading = Promise.all([
    read(t.output, 'mentions', (value) => {
      const { origin } = decodeStrict<PostMentions>(loadSchema('mentions'), value);
      return origin === null ? undefined : position(origin.partition, origin.offset);
    }),
    read(t.deadLetter, 'deadletter', (value) => {
      const d = decodeStrict<DeadLetter>(loadSchema('deadletter'), value);
      return position(d.source_partition, d.source_offset);
    }),
  ]);
  reading.catch(() => undefined);
  return { outputs, unattributed, reading, total: () => total };
}

test(`fuzz through the broker (${DELIVERY}): ${COUNT.toLocaleString('en')} payloads, one worker process, one right output each`, { timeout: 600_000 }, async (t) => {
  const brokers = kafkaBrokers();
  if (brokers === undefined) return t.skip(KAFKA_SKIP);
  const topics = await createTestTopics(brokers, 'fuzz');
  const cases = new FuzzPayloads({ seed: SEED, wire: 'raw', huge: HUGE, maxLongChars: 3_000 }).take(COUNT);
  const abort = new AbortController();
  const collected = collectOutputs(brokers, topics, abort.signal);
  const delivery = ['--delivery', DELIVERY, ...(DELIVERY === 'exactly-once' ? ['--transactional-id-prefix', `${topics.group}-tx`] : [])];
  const worker = spawnCli(runArgs(brokers, topics, model, ['--max-in-flight', '1000', '--shutdown-timeout-ms', '20000', ...delivery]));
  try {
    const started = Date.now();
    await produce(brokers, topics.input, cases);
    const inputs = await readInputs(brokers, topics.input, COUNT);
    assert.equal(inputs.size, COUNT, 'the broker holds every payload');
    const produced = Date.now();

    let exitedEarly = false;
    void worker.exited.then(() => (exitedEarly = true));
    await waitUntil(
      () => exitedEarly || [...inputs.keys()].every((p) => collected.outputs.has(p)),
      300_000,
      'an output for every input',
      () => `${inputs.size - [...inputs.keys()].filter((p) => collected.outputs.has(p)).length} input(s) without output; worker stderr: ${worker.stderr.slice(-3000)}`,
    );
    assert.equal(exitedEarly, false, `the worker exited by itself:\n${worker.stderr.slice(-3000)}`);
    const processed = Date.now();
    // Late duplicates would show up now: wait until nothing new arrived for 2 s (at most 30 s).
    let last = collected.total();
    let since = Date.now();
    await waitUntil(
      () => {
        if (collected.total() !== last) {
          last = collected.total();
          since = Date.now();
        }
        return Date.now() - since >= 2_000;
      },
      30_000,
      'the outputs to settle',
    );
    worker.kill('SIGTERM');
    const exit = await within(worker.exited, 30_000, 'the worker to stop after SIGTERM');
    assert.equal(exit.code, 0, worker.stderr.slice(-3000));
    assert.match(worker.stderr, /"msg":"worker stopped".*"signal":"SIGTERM"/);
    assert.doesNotMatch(worker.stderr, /"level":"error"/);
    const modelId = (/"msg":"worker started".*?"model":\{"id":"([^"]+)"/.exec(worker.stderr) ?? [])[1];

    assert.deepEqual(collected.unattributed, []);
    const stray = [...collected.outputs.keys()].filter((p) => !inputs.has(p));
    assert.deepEqual(stray, [], 'outputs for positions that are not inputs');
    const duplicated = [...collected.outputs].filter(([, outs]) => outs.length > 1).map(([p]) => p);
    assert.deepEqual(duplicated, [], 'no input has two outputs (a clean run, no restart)');
    const verdicts: Verdict[] = [];
    for (const [pos, input] of inputs) {
      const [out] = collected.outputs.get(pos) as FuzzOutput[];
      verdicts.push(checkOutcome(input, out, { wire: 'raw', modelId, origin: true, minTooLargeChars: 10_000, maxRecordBytes: MAX_RECORD_BYTES }));
    }
    const counts: Record<string, number> = {};
    for (const v of verdicts) counts[v] = (counts[v] ?? 0) + 1;
    t.diagnostic(`produce + read back ${produced - started} ms; worker caught up ${processed - produced} ms later; outcomes ${JSON.stringify(counts)}`);
    assert.ok((counts.mention ?? 0) > COUNT * 0.25 && (counts['dead:decode'] ?? 0) > COUNT * 0.25, JSON.stringify(counts));
    assert.deepEqual(await committedOffsets(brokers, topics.group, topics.input), await endOffsets(brokers, topics.input));
  } finally {
    worker.kill();
    abort.abort();
    await within(collected.reading.catch(() => undefined), 15_000, 'the output readers to stop').catch(() => undefined);
    await deleteTestTopics(brokers, topics);
  }
});

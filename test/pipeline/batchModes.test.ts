/**
 * batchMode and taggerConcurrency as the worker wires them: mentionStream
 * over an in-memory source and sink with a fake tagger (which batches the
 * tagger sees), and `mentionflow run --batch-mode adaptive` in the embedded
 * mode end to end.
 */
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { Subject, lastValueFrom, toArray } from 'rxjs';
import { defaultInput } from '../../cli/commands/run.js';
import type { OutputMessage, RawRecord, RecordRef } from '../../operators/types.js';
import { createLogger } from '../../pipeline/ops/logger.js';
import { createPipelineMetrics } from '../../pipeline/ops/metrics.js';
import { resolveWorkerConfig } from '../../pipeline/stream/config.js';
import { mentionStream } from '../../pipeline/stream/worker.js';
import type { Post } from '../../schemas/types.generated.js';
import { FakeTagger, encodePost, post, rawRecord, settle } from '../operators/helpers.js';
import { saveTinyModel, spawnCli, within } from '../support/kafka.js';

const paths = { model: '/models/default', input: '/samples/posts.ndjson' };

/** mentionStream on a Subject of records, a sink that acknowledges at once, and a fake tagger. */
function stream(flags: Record<string, string>, tagger: FakeTagger) {
  const records = new Subject<RawRecord>();
  const acked: RecordRef[] = [];
  const settings = resolveWorkerConfig({ paths, flags });
  const outputs = lastValueFrom(
    mentionStream({
      source: { records: () => records, ack: (refs) => acked.push(...refs), stop: () => records.complete() },
      sink: { write: () => (messages) => messages },
      tagger,
      settings,
      metrics: createPipelineMetrics({ collectDefault: false }),
      logger: createLogger({ level: 'error' }),
    }).pipe(toArray()),
  );
  const send = (from: number, n: number) => {
    for (let i = from; i < from + n; i++) records.next(rawRecord(i, encodePost(post(`p${i}`, `第${i}条：今天在北京见到了马云`))));
  };
  return { records, acked, outputs, send };
}

const batchSizes = (tagger: FakeTagger) => tagger.calls.map((texts) => texts.length);

test('adaptive: an idle worker tags a post at once, alone; what arrives while it is busy is the next batch', async () => {
  const tagger = new FakeTagger({ delayMs: 20 });
  const { records, acked, outputs, send } = stream({ batchMode: 'adaptive', batchMaxCount: '64' }, tagger);
  send(0, 1);
  assert.deepStrictEqual(batchSizes(tagger), [1], 'the first post went to the tagger without waiting');
  send(1, 9);
  assert.deepStrictEqual(batchSizes(tagger), [1], 'the others wait while the tagger is busy');
  await settle();
  await new Promise((r) => setTimeout(r, 40));
  assert.deepStrictEqual(batchSizes(tagger), [1, 9], 'one batch of everything that arrived, when the slot freed');
  records.complete();
  const out = (await outputs).flat() as OutputMessage[];
  assert.deepStrictEqual(out.map((m) => [m.output, m.ref.offset]), Array.from({ length: 10 }, (_, i) => ['mentions', String(i)]));
  assert.equal(acked.length, 10);
  assert.equal(tagger.maxInFlight, 1);
});

test('adaptive with taggerConcurrency 2: two batches in flight, outputs in input order', async () => {
  const tagger = new FakeTagger({ delayMs: 20 });
  const { records, outputs, send } = stream({ batchMode: 'adaptive', taggerConcurrency: '2', batchMaxCount: '4' }, tagger);
  send(0, 1);
  send(1, 1);
  send(2, 10);
  assert.deepStrictEqual(batchSizes(tagger), [1, 1], 'a second slot: the second post goes at once too');
  await new Promise((r) => setTimeout(r, 40));
  assert.deepStrictEqual(batchSizes(tagger).slice(0, 4), [1, 1, 4, 4], 'then maxCount posts per freed slot');
  records.complete();
  const out = (await outputs).flat() as OutputMessage[];
  assert.deepStrictEqual(out.map((m) => m.ref.offset), Array.from({ length: 12 }, (_, i) => String(i)));
  assert.equal(tagger.maxInFlight, 2);
});

test('fixed (the default): batches close at batchMaxCount or when the input completes, one tagger call at a time', async () => {
  const tagger = new FakeTagger();
  const { records, outputs, send } = stream({ batchMaxCount: '4', batchMaxWaitMs: '60000' }, tagger);
  send(0, 10);
  records.complete();
  const out = (await outputs).flat() as OutputMessage[];
  assert.equal(out.length, 10);
  assert.deepStrictEqual(batchSizes(tagger), [4, 4, 2]);
  assert.equal(tagger.maxInFlight, 1);
});

let model: string;
before(async () => {
  model = await saveTinyModel(join(mkdtempSync(join(tmpdir(), 'mf-batch-modes-')), 'model'));
});

test('mentionflow run --batch-mode adaptive --tagger-concurrency 1: the sample posts, one line each, in order', { timeout: 60_000 }, async () => {
  const samples = readFileSync(defaultInput(), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Post);
  const cli = spawnCli(['run', '--model', model, '--log-level', 'warn', '--batch-mode', 'adaptive', '--tagger-concurrency', '1']);
  const { code } = await within(cli.exited, 30_000, 'the file mode run');
  assert.equal(code, 0, cli.stderr);
  const out = cli.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { post_id: string });
  assert.deepStrictEqual(
    out.map((m) => m.post_id),
    samples.map((p) => p.id),
  );
  assert.equal(cli.stderr, '', 'no dead letters, no warnings');
});

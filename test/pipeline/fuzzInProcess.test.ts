/**
 * "Survive a production day", in-process: seeded fuzz payloads
 * (test/support/fuzzPayloads.ts: random bytes, valid posts of both
 * versions, truncated and mutated records, other schemas, invalid UTF-8,
 * lone surrogates, NUL bytes, bad lengths and blocks, huge and empty texts,
 * tombstones) against an independent oracle (test/support/avroReference.ts).
 *
 * What runs, and why not everything through the tagger:
 * - the decoder (decodePosts) on all 100,000 payloads of each input framing
 *   (raw, confluent, auto): it must agree with the oracle on every payload,
 *   and on the post it decodes;
 * - the whole worker (mentionStream: decode -> batch -> the shipped model
 *   models/default on the native backend -> toMentions -> encodeOutputs ->
 *   sink -> ack) on the first 20,000 raw payloads (with one post of 100,000
 *   code points) and 2,000 each framed 'confluent' and 'auto': 1-2 minutes
 *   on this 2-core machine. The shipped model tags ~1,000 short posts/s and
 *   ~40,000 code points/s, so a post of 1,000,000 code points alone takes
 *   ~25 s. MENTIONFLOW_FUZZ_FULL=1 runs the whole worker on all 100,000 raw
 *   payloads (with texts of 300,000 and 1,000,000 code points) and 10,000
 *   each framed: 220 s for the 100,000, 5 min for the file (measured with
 *   other jobs on the machine).
 * Checked for the whole worker: the stream completes without an error and
 * without an error log line, every input is acked exactly once and gives
 * exactly one output, in order, judged by checkOutcome (fuzzCheck.ts).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import { projectRoot } from '../../cli/defaults.js';
import { NeuralTagger } from '../../models/tagger.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { decodePosts } from '../../operators/index.js';
import type { OutputMessage, RawRecord } from '../../operators/types.js';
import { createLogger } from '../../pipeline/ops/logger.js';
import { createPipelineMetrics } from '../../pipeline/ops/metrics.js';
import { resolveWorkerConfig } from '../../pipeline/stream/config.js';
import { mentionStream } from '../../pipeline/stream/worker.js';
import type { WireFormat } from '../../schemas/registry.js';
import { referenceDecodePost } from '../support/avroReference.js';
import { testBackend } from '../support/backend.js';
import { checkOutcome, type Verdict } from '../support/fuzzCheck.js';
import { FuzzPayloads, type FuzzCase } from '../support/fuzzPayloads.js';
import { within } from '../support/kafka.js';
import { MemorySource, memorySink } from '../support/memoryEdges.js';

const SEED = 0x5eed_2026;
const TOTAL = 100_000;
const HUGE = [
  { at: 4_321, chars: 100_000 },
  { at: 45_000, chars: 300_000 },
  { at: 90_000, chars: 1_000_000 },
];
const FULL = process.env.MENTIONFLOW_FUZZ_FULL === '1';
const STREAM_SHARE: Record<WireFormat, number> = FULL
  ? { raw: TOTAL, confluent: 10_000, auto: 10_000 }
  : { raw: 20_000, confluent: 2_000, auto: 2_000 };
const TOPIC = 'fuzz-posts';

const cases = new Map<WireFormat, FuzzCase[]>();
function casesFor(wire: WireFormat): FuzzCase[] {
  let got = cases.get(wire);
  if (got === undefined) {
    got = new FuzzPayloads({ seed: SEED, wire, huge: HUGE }).take(TOTAL);
    cases.set(wire, got);
  }
  return got;
}

function rawRecords(list: readonly FuzzCase[]): RawRecord[] {
  return list.map((c, i) => ({ ref: { topic: TOPIC, partition: 0, offset: String(i), receivedAt: Date.now() }, key: c.key, value: c.value }));
}

function countBy<T>(items: Iterable<T>, key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

describe('fuzz: the decoder agrees with an independent reader on 100,000 payloads per framing', () => {
  for (const wire of ['raw', 'confluent', 'auto'] as const) {
    test(`inputWire ${wire}`, { timeout: 180_000 }, async (t) => {
      const list = casesFor(wire);
      const started = performance.now();
      const items = await lastValueFrom(from(rawRecords(list)).pipe(decodePosts({ wire }), toArray()));
      const ms = performance.now() - started;
      assert.equal(items.length, TOTAL);
      let good = 0;
      const disagreements: string[] = [];
      items.forEach((item, i) => {
        const ref = referenceDecodePost(list[i].value, wire);
        const label = `case ${i} (${list[i].kind})`;
        if (ref.ok) {
          good++;
          if (item.kind !== 'ok') disagreements.push(`${label}: the oracle reads post ${JSON.stringify(ref.post.id.slice(0, 40))}, decodePosts says ${item.error.message}`);
          else if (item.value.id !== ref.post.id || item.value.text !== ref.post.text || item.value.created_at !== ref.post.created_at) {
            disagreements.push(`${label}: decodePosts read another post than the oracle`);
          }
        } else if (item.kind === 'ok') {
          disagreements.push(`${label}: decodePosts accepts what the oracle rejects (${ref.reason})`);
        } else {
          assert.equal(item.stage, 'decode');
          assert.equal(item.error.name, 'DecodeError', `${label}: ${item.error.name}`);
        }
      });
      t.diagnostic(`${TOTAL} payloads decoded in ${Math.round(ms)} ms; ${good} good posts, ${TOTAL - good} rejected`);
      t.diagnostic(`kinds: ${JSON.stringify(countBy(list, (c) => c.kind))}`);
      assert.deepEqual(disagreements.slice(0, 10), [], `${disagreements.length} disagreement(s)`);
      // The generator must exercise both sides, or the comparison shows nothing.
      assert.ok(good > TOTAL * 0.25 && good < TOTAL * 0.6, `${good} good posts`);
    });
  }
});

describe('fuzz: the whole worker (shipped model) on the same payloads', () => {
  let tagger: NeuralTagger;
  before(async () => {
    await testBackend();
    const { model } = await TaggerModel.load(`${projectRoot()}/models/default`);
    tagger = new NeuralTagger(model, { batchSize: 64 });
  });

  for (const wire of ['raw', 'confluent', 'auto'] as const) {
    const n = STREAM_SHARE[wire];
    test(`inputWire ${wire}: ${n.toLocaleString('en')} payloads, each acked once, one right output each`, { timeout: FULL ? 1_800_000 : 300_000 }, async (t) => {
      const list = casesFor(wire).slice(0, n);
      const records = rawRecords(list);
      const source = new MemorySource(records, 2_000);
      const logLines: string[] = [];
      const logger = createLogger({ level: 'warn', stream: { write: (s: string) => logLines.push(s) > 0 } as unknown as NodeJS.WritableStream });
      const metrics = createPipelineMetrics({ collectDefault: false });
      const settings = resolveWorkerConfig({ paths: { model: '/unused', input: '/unused' }, flags: { inputWire: wire } });
      const started = performance.now();
      const groups = await within(
        lastValueFrom(mentionStream({ source, sink: memorySink(), tagger, settings, metrics, logger }).pipe(toArray())),
        FULL ? 1_700_000 : 280_000,
        'the stream to complete',
      );
      const ms = performance.now() - started;
      const outputs: OutputMessage[] = groups.flat();

      assert.deepEqual(logLines.filter((l) => /"level":"error"/.test(l)), []);
      assert.deepEqual(source.strayAcks, []);
      const badAcks = [...source.acks].map((a, i) => [i, a]).filter(([, a]) => a !== 1);
      assert.deepEqual(badAcks.slice(0, 10), [], `${badAcks.length} input(s) not acked exactly once`);
      assert.equal(outputs.length, n, 'one output per input');
      outputs.forEach((o, i) => assert.equal(o.ref, records[i].ref, `output ${i} is for input ${o.ref.offset}: order and one-to-one`));

      const verdicts: Verdict[] = outputs.map((o, i) =>
        checkOutcome(
          { topic: TOPIC, partition: 0, offset: i, key: list[i].key, value: list[i].value, kind: list[i].kind },
          o,
          { wire, modelId: tagger.modelId, origin: true, minTooLargeChars: 10_000, maxRecordBytes: 1_000_000 },
        ),
      );
      const counts = countBy(verdicts, (v) => v);
      t.diagnostic(`${n} payloads through the whole worker in ${Math.round(ms)} ms: ${JSON.stringify(counts)}`);
      assert.ok((counts.mention ?? 0) > n * 0.25, 'good posts were tagged');
      assert.ok((counts['dead:decode'] ?? 0) > n * 0.25, 'bad inputs were dead-lettered');
      const recordsOut = (await metrics.recordsOut.get()).values.reduce((s, v) => s + v.value, 0);
      assert.equal(recordsOut, n);
    });
  }
});

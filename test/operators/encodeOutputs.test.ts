// encodeOutputs: one output message per item, in order; mentions for ok
// items, dead letters for failures (and for records that cannot be encoded).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { map } from 'rxjs';
import { ConfigError, DecodeError, TaggingError } from '../../common/errors.js';
import { DEFAULT_MAX_RECORD_BYTES, encodeOutputs } from '../../operators/encodeOutputs.js';
import type { FailedItem, Item, OkItem, OutputMessage } from '../../operators/types.js';
import { decodeStrict, encodeStrict, frameConfluent, loadSchema, parseConfluentHeader } from '../../schemas/registry.js';
import type { DeadLetter, PostMentions } from '../../schemas/types.generated.js';
import { RECEIVED_AT, failedItem, newScheduler, okItem, ref } from './helpers.js';

const mentionsType = loadSchema('mentions');
const deadletterType = loadSchema('deadletter');
const FAILED_AT = RECEIVED_AT + 500;
const now = (): number => FAILED_AT;

function record(postId: string, extra: Partial<PostMentions> = {}): PostMentions {
  return {
    post_id: postId,
    created_at: 1_699_999_000_000,
    origin: { topic: 'posts', partition: 0, offset: 1 },
    mentions: [
      { text: '北京', label: 'GPE.NAM', type: 'GPE', kind: 'NAM', start: 2, end: 4, start_utf16: 2, end_utf16: 4, confidence: 0.875 },
      { text: '马云', label: 'PER.NAM', type: 'PER', kind: 'NAM', start: 8, end: 10, start_utf16: 8, end_utf16: 10, confidence: 0.5 },
    ],
    model: { id: 'bilstm-crf-weibo', version: '2024.1' },
    processed_at: RECEIVED_AT + 250,
    latency_ms: 250,
    ...extra,
  };
}

const payload = Buffer.from('原始字节', 'utf8');
const ok1 = okItem(1, record('p-bj'), payload);
const ok2 = okItem(2, record('p-sh', { mentions: [], origin: null, latency_ms: null }), payload);
const failed = { ...failedItem(3, '坏的 Avro', payload), key: Buffer.from('k3') };
const tagFailed: FailedItem = { kind: 'failed', ref: ref(4), payload: null, stage: 'tag', error: new TaggingError('标注器崩溃') };

function mentionsMessage(item: OkItem<PostMentions>): OutputMessage {
  return { output: 'mentions', key: Buffer.from(item.value.post_id), value: encodeStrict(mentionsType, item.value), ref: item.ref };
}

function deadLetterOf(msg: OutputMessage): DeadLetter {
  assert.equal(msg.output, 'deadletter');
  // Spread: decoded records are avsc class instances; compare fields only.
  return { ...decodeStrict<DeadLetter>(deadletterType, msg.value) };
}

function one(batch: Item<PostMentions>[], opts: Parameters<typeof encodeOutputs>[0] = { now }): OutputMessage[] {
  let out: OutputMessage[] = [];
  newScheduler().run(({ cold }) => {
    cold('a|', { a: batch })
      .pipe(encodeOutputs(opts))
      .subscribe((v) => (out = v));
  });
  return out;
}

const kinds = (msgs: OutputMessage[]): string[] => msgs.map((m) => `${m.ref.offset}:${m.output}`);

describe('encodeOutputs', () => {
  const op = () => encodeOutputs({ now });

  it('never: emits nothing', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold<Item<PostMentions>[]>('-');
      expectObservable(src.pipe(op())).toBe('-');
      expectSubscriptions(src.subscriptions).toBe('^');
    });
  });

  it('empty: completes', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<Item<PostMentions>[]>('|').pipe(op())).toBe('|');
    });
  });

  it('one value: an ok item becomes a mentions message keyed by post id', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-a|', { a: [ok1] }).pipe(op())).toBe('-a|', { a: [mentionsMessage(ok1)] });
    });
    const [msg] = one([ok1]);
    assert.deepStrictEqual(JSON.parse(JSON.stringify(decodeStrict(mentionsType, msg.value))), ok1.value);
  });

  it('many values: one message per item, in order', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const out = cold('ab|', { a: [ok1, failed, ok2], b: [tagFailed] }).pipe(op(), map(kinds));
      expectObservable(out).toBe('ab|', {
        a: ['1:mentions', '3:deadletter', '2:mentions'],
        b: ['4:deadletter'],
      });
    });
  });

  it('dead letters carry the original bytes and key, where from, stage, error, when', () => {
    const [, dlMsg] = one([ok1, failed]);
    assert.deepStrictEqual(dlMsg.key, Buffer.from('k3'));
    assert.equal(dlMsg.ref, failed.ref);
    assert.deepStrictEqual(deadLetterOf(dlMsg), {
      payload,
      key: Buffer.from('k3'),
      source_topic: 'posts',
      source_partition: 0,
      source_offset: 3,
      stage: 'decode',
      error_class: 'DecodeError',
      error_message: '坏的 Avro',
      failed_at: FAILED_AT,
      attempts: 1,
    });
    const [tagMsg] = one([tagFailed]);
    const tagDl = deadLetterOf(tagMsg);
    assert.equal(tagMsg.key, null);
    assert.deepStrictEqual(tagDl.payload, Buffer.alloc(0));
    assert.equal(tagDl.stage, 'tag');
    assert.equal(tagDl.error_class, 'TaggingError');
  });

  it('a record that cannot be encoded becomes a dead letter with stage encode', () => {
    const broken = okItem(7, record('p-\uD800', { created_at: 'yesterday' as never }), payload);
    const out = one([ok1, broken, ok2]);
    assert.deepStrictEqual(kinds(out), ['1:mentions', '7:deadletter', '2:mentions']);
    const dl = deadLetterOf(out[1]);
    assert.equal(dl.stage, 'encode');
    assert.equal(dl.error_class, 'SchemaValidationError');
    assert.match(dl.error_message, /created_at: expected long/);
    assert.deepStrictEqual(dl.payload, payload);
  });

  it('confluent wire format frames both outputs with their schema ids', () => {
    const out = one([ok1, failed], { wire: 'confluent', schemaIds: { mentions: 21, deadletter: 22 }, now });
    assert.deepStrictEqual(out[0].value, frameConfluent(21, encodeStrict(mentionsType, ok1.value)));
    assert.equal(parseConfluentHeader(out[1].value)?.schemaId, 22);
    assert.equal(decodeStrict<DeadLetter>(deadletterType, out[1].value, { wireFormat: 'confluent' }).stage, 'decode');
  });

  it('error: passes through', () => {
    const err = new Error('生产者关闭');
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a#', { a: [ok1] }, err).pipe(op())).toBe('a#', { a: [mentionsMessage(ok1)] }, err);
    });
  });

  it('endless source: keeps encoding, never completes', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a-b-a-b-', { a: [ok1], b: [failed] });
      expectObservable(src.pipe(op(), map(kinds))).toBe('a-b-a-b-', { a: ['1:mentions'], b: ['3:deadletter'] });
      expectSubscriptions(src.subscriptions).toBe('^');
    });
  });

  it('early unsubscribe: unsubscribes from the source', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a-a-a-|', { a: [ok1] });
      expectObservable(src.pipe(op(), map(kinds)), '^-!').toBe('a-', { a: ['1:mentions'] });
      expectSubscriptions(src.subscriptions).toBe('^-!');
    });
  });

  it('callback throws: a throwing clock is a stream error; batches without failures do not read it', () => {
    const boom = new Error('时钟坏了');
    newScheduler().run(({ cold, expectObservable }) => {
      const out = cold('ab|', { a: [ok1], b: [failed] }).pipe(
        encodeOutputs({
          now: () => {
            throw boom;
          },
        }),
        map(kinds),
      );
      expectObservable(out).toBe('a#', { a: ['1:mentions'] }, boom);
    });
  });

  it('rejects bad options with a ConfigError', () => {
    assert.throws(() => encodeOutputs({ wire: 'auto' }), (e: unknown) => e instanceof ConfigError && /only meaningful for reading/.test(e.message));
    assert.throws(() => encodeOutputs({ wire: 'confluent' }), (e: unknown) => e instanceof ConfigError && /needs schemaIds/.test(e.message));
    assert.throws(() => encodeOutputs({ wire: 'confluent', schemaIds: { mentions: -1, deadletter: 2 } }), ConfigError);
    assert.throws(() => encodeOutputs({ wire: 'xml' as never }), ConfigError);
    assert.throws(() => encodeOutputs({ now: 1 as never }), ConfigError);
    assert.doesNotThrow(() => encodeOutputs());
  });

  it('rejects a maxRecordBytes below 64 KiB or not a number', () => {
    assert.throws(() => encodeOutputs({ maxRecordBytes: 1000 }), (e: unknown) => e instanceof ConfigError && /maxRecordBytes must be a number >= 65536/.test(e.message));
    assert.throws(() => encodeOutputs({ maxRecordBytes: '1e6' as never }), ConfigError);
    assert.doesNotThrow(() => encodeOutputs({ maxRecordBytes: Infinity }));
  });

  /** A PostMentions record with `n` mentions of 北京 (about 25 bytes each). */
  const manyMentions = (n: number): PostMentions =>
    record('p-many', {
      mentions: Array.from({ length: n }, (_, i) => ({
        text: '北京', label: 'GPE.NAM', type: 'GPE' as const, kind: 'NAM' as const, start: 2 * i, end: 2 * i + 2, start_utf16: 2 * i, end_utf16: 2 * i + 2, confidence: 0.5,
      })),
    });

  // Fuzz finding (test/pipeline/fuzzBroker.test.ts): the mention record of a
  // post of 150,000 code points was larger than the broker's 1 MiB
  // message.max.bytes; the producer failed for good, the worker exited, and
  // a restart would read the same post again.
  it('a mentions record over the limit (default 1,000,000 bytes) becomes a dead letter: stage encode, RecordTooLargeError', () => {
    const input = Buffer.alloc(300_000, 0x61);
    const big = { ...okItem(7, manyMentions(60_000), input), key: Buffer.from('k7') };
    assert.ok(encodeStrict(mentionsType, big.value).length > DEFAULT_MAX_RECORD_BYTES, 'the record really is over the limit');
    const [msg] = one([big, ok2]);
    const dl = deadLetterOf(msg);
    assert.equal(dl.stage, 'encode');
    assert.equal(dl.error_class, 'RecordTooLargeError');
    assert.match(dl.error_message, /^PostMentions record of \d+ bytes is larger than the limit of 1000000 bytes \(60000 mentions of post "p-many"\)$/);
    assert.deepStrictEqual(dl.payload, input, 'the dead letter still fits with the original payload');
    assert.deepStrictEqual(dl.key, Buffer.from('k7'));
    assert.deepStrictEqual(msg.key, Buffer.from('k7'));
    // The next post of the batch is not affected.
    assert.deepStrictEqual(kinds(one([big, ok2])), ['7:deadletter', '2:mentions']);
    // Under the limit it is an ordinary mentions message.
    assert.equal(one([okItem(8, manyMentions(30_000))])[0].output, 'mentions');
  });

  it('a dead letter over the limit leaves out the payload (then the key) and says where the input is', () => {
    const limit = 64 * 1024;
    const withPayload = { ...failedItem(3, '坏的 Avro', Buffer.alloc(70_000, 1)), key: Buffer.from('k3') };
    const [msg] = one([withPayload], { now, maxRecordBytes: limit });
    assert.ok(msg.value.length + (msg.key?.length ?? 0) <= limit);
    const dl = deadLetterOf(msg);
    assert.deepStrictEqual(dl.payload, Buffer.alloc(0));
    assert.deepStrictEqual(dl.key, Buffer.from('k3'));
    assert.deepStrictEqual(msg.key, Buffer.from('k3'));
    assert.match(dl.error_message, /^坏的 Avro \[payload of 70000 bytes left out: the dead letter would be \d+ bytes, over the output limit of 65536; read it from posts\/0@3\]$/);
    assert.equal(dl.source_offset, 3);

    // A key so large that the record (which holds it twice) is over the limit without the payload too.
    const hugeKey = { ...failedItem(4, 'x'.repeat(10_000), Buffer.alloc(10)), key: Buffer.alloc(40_000, 2) };
    const [msg2] = one([hugeKey], { now, maxRecordBytes: limit });
    assert.ok(msg2.value.length <= limit);
    assert.equal(msg2.key, null);
    const dl2 = deadLetterOf(msg2);
    assert.equal(dl2.key, null);
    assert.equal(dl2.error_message.length, 4096, 'the message is cut so that the note fits');
    assert.match(dl2.error_message, /… \[payload of 10 bytes and key of 40000 bytes left out: .* read it from posts\/0@4\]$/);
  });

  it('a decode error class survives as error_class', () => {
    const custom = { ...failed, error: new DecodeError('x') };
    assert.equal(deadLetterOf(one([custom])[0]).error_class, 'DecodeError');
  });
});

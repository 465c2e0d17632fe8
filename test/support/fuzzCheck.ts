/**
 * The per-record verdict of the fuzz tests: given one input record and the
 * one output the worker wrote for it, check that the output is the right
 * kind (the oracle, avroReference.ts, decides whether the input is a good
 * post) and well formed:
 *
 * - a good post -> a PostMentions record (strictly decodable) with the post's
 *   id (also as the message key) and created_at, the input's position as
 *   origin, the model, and mentions sorted, non-overlapping, inside the text,
 *   whose code-point and UTF-16 spans both yield the surface text;
 * - a bad input -> a DeadLetter (strictly decodable), stage 'decode',
 *   error_class 'DecodeError', a one-line message that says what is wrong,
 *   the input's topic/partition/offset, and its key and value byte for byte
 *   (an empty payload for a null value).
 *
 * The one exception to "a good post gets a mention record": a post whose
 * mention record would be larger than the output limit (encodeOutputs'
 * maxRecordBytes) becomes a dead letter of stage 'encode' with a
 * RecordTooLargeError, which `tooLarge` allows for posts of at least
 * `minTooLargeChars` code points.
 */
import assert from 'node:assert/strict';
import { decodeStrict, loadSchema, type WireFormat } from '../../schemas/registry.js';
import type { DeadLetter, PostMentions } from '../../schemas/types.generated.js';
import { referenceDecodePost } from './avroReference.js';

export interface FuzzInput {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  /** For messages: how the payload was made, if known. */
  kind?: string;
}

export interface FuzzOutput {
  output: 'mentions' | 'deadletter';
  key: Buffer | null;
  value: Buffer;
}

export interface VerdictOptions {
  wire: WireFormat;
  modelId: string;
  /** Whether origin is expected (inputs read from Kafka or a named topic). */
  origin: boolean;
  /** Smallest text (code points) whose mention record may exceed the output limit. */
  minTooLargeChars: number;
  /** The largest a dead letter may be before its payload is left out (encodeOutputs' maxRecordBytes). */
  maxRecordBytes: number;
}

/** What happened to one input: 'mention', 'dead:decode' or 'dead:too-large'. */
export type Verdict = 'mention' | 'dead:decode' | 'dead:too-large';

const TYPES = new Set(['PER', 'ORG', 'LOC', 'GPE']);
const KINDS = new Set(['NAM', 'NOM']);

function describe(input: FuzzInput): string {
  const head = input.value === null ? 'null' : input.value.subarray(0, 48).toString('hex');
  return `input ${input.topic}/${input.partition}@${input.offset} (${input.kind ?? 'kind unknown'}, ${input.value?.length ?? 'null'} bytes, starts ${head})`;
}

/** Checks one input's output; throws an AssertionError naming the input, returns what happened. */
export function checkOutcome(input: FuzzInput, out: FuzzOutput, opts: VerdictOptions): Verdict {
  const ref = referenceDecodePost(input.value, opts.wire);
  const where = describe(input);
  if (out.output === 'mentions') {
    assert.ok(ref.ok, `${where}: a mention record for an input the oracle rejects (${ref.ok ? '' : ref.reason})`);
    const m = decodeStrict<PostMentions>(loadSchema('mentions'), out.value);
    const post = ref.post;
    assert.equal(m.post_id, post.id, `${where}: post_id`);
    assert.ok(out.key?.equals(Buffer.from(post.id, 'utf8')), `${where}: the message key is the post id`);
    assert.equal(m.created_at, post.created_at, `${where}: created_at`);
    assert.equal(m.model.id, opts.modelId, `${where}: model`);
    if (opts.origin) {
      assert.deepEqual({ ...m.origin }, { topic: input.topic, partition: input.partition, offset: input.offset }, `${where}: origin`);
    }
    checkMentions(post.text, m, where);
    return 'mention';
  }
  const d = decodeStrict<DeadLetter>(loadSchema('deadletter'), out.value);
  assert.equal(d.source_topic, input.topic, `${where}: source_topic`);
  assert.equal(d.source_partition, input.partition, `${where}: source_partition`);
  assert.equal(d.source_offset, input.offset, `${where}: source_offset`);
  assert.equal(d.attempts, 1);
  assert.ok(d.error_message.length > 0 && !/[\r\n]/.test(d.error_message), `${where}: one-line reason, got ${JSON.stringify(d.error_message)}`);
  const keyOk = (k: Buffer | null) => (input.key === null ? k === null : k !== null && k.equals(input.key));
  if (!ref.ok) {
    assert.equal(d.stage, 'decode', `${where}: stage of a bad input (${d.error_class}: ${d.error_message})`);
    assert.equal(d.error_class, 'DecodeError', `${where}: error_class`);
    assert.match(d.error_message, /^(cannot decode Post|invalid Post: empty id)/, `${where}: the reason`);
    if (input.value === null) assert.match(d.error_message, /no value/);
    else assert.match(d.error_message, /\d+ bytes|empty payload|Confluent header|empty id/, `${where}: the reason says what was read`);
    const payload = input.value ?? Buffer.alloc(0);
    if (payload.length + (input.key?.length ?? 0) * 2 + 8192 < opts.maxRecordBytes) {
      assert.ok(d.payload.equals(payload), `${where}: the dead letter carries the original value`);
      assert.ok(keyOk(d.key), `${where}: the dead letter carries the original key`);
      assert.ok(keyOk(out.key), `${where}: the dead letter message is keyed like the input`);
    } else {
      assert.ok(d.payload.equals(payload) || (d.payload.length === 0 && /payload of \d+ bytes left out/.test(d.error_message)), `${where}: payload or a note`);
    }
    return 'dead:decode';
  }
  // A good post that became a dead letter: only when its mention record is too large.
  assert.equal(d.stage, 'encode', `${where}: a good post (${ref.post.id}) became a dead letter: ${d.stage} ${d.error_class}: ${d.error_message}`);
  assert.equal(d.error_class, 'RecordTooLargeError', `${where}: ${d.error_class}: ${d.error_message}`);
  assert.match(d.error_message, /PostMentions record of \d+ bytes is larger than the limit of \d+ bytes/);
  const chars = [...ref.post.text].length;
  assert.ok(chars >= opts.minTooLargeChars, `${where}: a post of ${chars} code points cannot give a record over the limit`);
  assert.ok(d.payload.equals(input.value as Buffer) || /payload of \d+ bytes left out/.test(d.error_message), `${where}: payload or a note`);
  return 'dead:too-large';
}

function checkMentions(text: string, m: PostMentions, where: string): void {
  const cps = [...text];
  let prevEnd = 0;
  for (const [i, x] of m.mentions.entries()) {
    const at = `${where}: mention ${i} ${JSON.stringify(x)}`;
    assert.ok(Number.isInteger(x.start) && x.start >= prevEnd && x.end > x.start && x.end <= cps.length, `${at}: span inside the text of ${cps.length} code points, after ${prevEnd}`);
    prevEnd = x.end;
    assert.equal(x.text, cps.slice(x.start, x.end).join(''), `${at}: code-point span`);
    assert.equal(x.text, text.slice(x.start_utf16, x.end_utf16), `${at}: UTF-16 span`);
    assert.ok(TYPES.has(x.type) && KINDS.has(x.kind), `${at}: type/kind`);
    assert.ok(x.confidence >= 0 && x.confidence <= 1, `${at}: confidence`);
  }
}

/**
 * The embedded mode (`mentionflow run --input FILE`) on the payloads the
 * fuzz tests found it handled differently from Kafka input:
 * - an Avro container record whose text is not UTF-8 was decoded by avsc,
 *   which replaced the bytes with U+FFFD, and tagged; from Kafka the same
 *   bytes are a dead letter. Now the record's stored bytes go to decodePosts.
 * - an NDJSON line that is JSON but not a Post (a lone surrogate escape, a
 *   missing field) or not JSON became a dead letter whose reason was about
 *   Avro bytes ("negative length -62 at id"); now it names the problem.
 * Odd but valid text (NUL, bidi controls, BOM, noncharacters, astral
 * characters) is tagged like any other.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import avro from 'avsc';
import { loadSchema } from '../../schemas/registry.js';
import type { DeadLetter, PostMentions } from '../../schemas/types.generated.js';
import { saveTinyModel, spawnCli, within } from '../support/kafka.js';

let model: string;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'mf-fuzz-file-'));
  model = await saveTinyModel(join(work, 'model'));
});

function ndjson<T>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

async function run(input: string): Promise<{ mentions: PostMentions[]; dead: DeadLetter[] }> {
  const deadFile = join(work, `${Date.now()}-dead.ndjson`);
  const cli = spawnCli(['run', '--model', model, '--input', input, '--dead-letter-file', deadFile, '--log-level', 'warn']);
  const { code } = await within(cli.exited, 60_000, 'the file mode run');
  assert.equal(code, 0, cli.stderr);
  assert.equal(cli.stderr, '');
  const dead = ndjson<DeadLetter & { payload: string }>(readFileSync(deadFile, 'utf8')).map((d) => ({ ...d, payload: Buffer.from(d.payload, 'base64') }));
  return { mentions: ndjson<PostMentions>(cli.stdout), dead };
}

const post = (id: string, text: string) => ({ id, text, author_id: 'u', created_at: 1_700_000_000_000, source: 'weibo', lang: null, reply_to: null, attributes: {} });

test('Avro container: a record with invalid UTF-8 is a dead letter with its stored bytes, as from Kafka', { timeout: 90_000 }, async () => {
  const file = join(work, 'posts.avro');
  const encoder = avro.createFileEncoder(file, loadSchema('post', 1));
  encoder.write(post('good-1', '今天在北京见到了马云'));
  encoder.write(post('bad-utf8', 'AQQQQZ在杭州'));
  encoder.write(post('good-2', '\u0000\u202e上海\ufeff\uffff😀'));
  encoder.end();
  await once(encoder, 'finish');
  await new Promise((r) => setTimeout(r, 100)); // the file stream flushes after the encoder
  const bytes = readFileSync(file);
  const at = bytes.indexOf('QQQQ');
  bytes[at + 1] = 0xff; // 'AQ\xffQQZ...': not UTF-8 (the container codec is 'null', the sync markers are untouched)
  writeFileSync(file, bytes);
  const expectedPayload = loadSchema('post', 1).toBuffer(post('bad-utf8', 'AQQQQZ在杭州'));
  expectedPayload[expectedPayload.indexOf('QQQQ') + 1] = 0xff;

  const { mentions, dead } = await run(file);
  assert.deepEqual(
    mentions.map((m) => m.post_id),
    ['good-1', 'good-2'],
  );
  assert.equal(dead.length, 1);
  assert.equal(dead[0].source_offset, 2);
  assert.equal(dead[0].stage, 'decode');
  assert.equal(dead[0].error_class, 'DecodeError');
  assert.match(dead[0].error_message, /string: invalid UTF-8 at text \(byte \d+\)/);
  assert.deepEqual(dead[0].payload, expectedPayload, 'the record exactly as stored');
});

test('NDJSON: lines that are not Posts are dead letters that say why; odd but valid text is tagged', { timeout: 90_000 }, async () => {
  const input = join(work, 'posts.ndjson');
  const lines = [
    JSON.stringify(post('ok-1', '北京')),
    '{"id":"lone","text":"a\\ud800b","author_id":"u","created_at":1,"source":"weibo"}',
    '{"id":"lone-id-\\udc00","text":"x","author_id":"u","created_at":1,"source":"weibo"}',
    JSON.stringify({ id: 'no-text', author_id: 'u', created_at: 1, source: 'weibo' }),
    'not json at all',
    JSON.stringify(post('ok-2', '\u0000\u200f\u2067مرحبا 北京\u2069\ufeff\ufffe\u{20bb7}\u{1f468}\u200d\u{1f469}\u200d\u{1f467}')),
    JSON.stringify(post('ok-3', '')),
  ];
  writeFileSync(input, lines.join('\n') + '\n');
  const { mentions, dead } = await run(input);
  assert.deepEqual(
    mentions.map((m) => m.post_id),
    ['ok-1', 'ok-2', 'ok-3'],
  );
  assert.deepEqual(mentions[2].mentions, [], 'an empty text has no mentions');
  assert.deepEqual(
    dead.map((d) => [d.source_offset, d.stage, d.error_class]),
    [
      [2, 'decode', 'DecodeError'],
      [3, 'decode', 'DecodeError'],
      [4, 'decode', 'DecodeError'],
      [5, 'decode', 'DecodeError'],
    ],
  );
  const reasons = dead.map((d) => d.error_message);
  assert.match(reasons[0], /^cannot decode Post: line 2: not a valid Post: text: string contains a lone UTF-16 surrogate/);
  assert.match(reasons[1], /^cannot decode Post: line 3: not a valid Post: .*id: string contains a lone UTF-16 surrogate/);
  assert.match(reasons[2], /^cannot decode Post: line 4: not a valid Post: text: expected string, got undefined/);
  assert.match(reasons[3], /^cannot decode Post: line 5: not JSON: /);
  assert.deepEqual(dead[3].payload, Buffer.from('not json at all'), 'the line as it was');
});

// The stages composed as the pipeline wires them:
//   raw records -> decodePosts -> batchItems -> tagBatch -> toMentions -> encodeOutputs
// Exactly one output message per input record, dead letters for the bad ones.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatMap, from, lastValueFrom, toArray } from 'rxjs';
import { batchItems, decodePosts, encodeOutputs, tagBatch, tapSafe, toMentions } from '../../operators/index.js';
import type { Item, OutputMessage, RawRecord } from '../../operators/index.js';
import { decodeStrict, encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { DeadLetter, Post, PostMentions } from '../../schemas/types.generated.js';
import { FakeTagger, POSTS, bareMentions, encodePost, post, rawRecord } from './helpers.js';

const mentionsType = loadSchema('mentions');
const deadletterType = loadSchema('deadletter');

const poisoned = post('p-poison', '这条帖子有毒☠标注器会崩溃，北京也救不了');
const otherSchema = encodeStrict(mentionsType, bareMentions('p-x'));

interface Case {
  value: Buffer | null;
  expect: 'mentions' | 'decode' | 'tag';
  mentions?: string[];
}

const CASES: Case[] = [
  { value: encodePost(POSTS.beijing), expect: 'mentions', mentions: ['北京', '马云', '阿里巴巴'] },
  { value: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x13]), expect: 'decode' },
  { value: encodePost(POSTS.shenzhen, 1), expect: 'mentions', mentions: ['那位老板', '深圳', '腾讯'] },
  { value: encodePost(POSTS.shanghai).subarray(0, 30), expect: 'decode' },
  { value: otherSchema, expect: 'decode' },
  { value: null, expect: 'decode' },
  { value: encodePost(poisoned), expect: 'tag' },
  { value: encodePost(POSTS.astral), expect: 'mentions', mentions: ['𠮷野家', '杭州'] },
  { value: encodePost(post('', '没有编号')), expect: 'decode' },
  { value: encodePost(POSTS.plain), expect: 'mentions', mentions: [] },
  { value: encodePost(POSTS.shanghai), expect: 'mentions', mentions: ['上海', '小王', '外滩'] },
  { value: encodePost(POSTS.empty), expect: 'mentions', mentions: [] },
];

describe('operators composed', () => {
  it('one decodable output message per input record, dead letters with the failing stage', async () => {
    const records: RawRecord[] = CASES.map((c, i) => rawRecord(100 + i, c.value, Buffer.from(`key-${i}`)));
    const tagger = new FakeTagger({ poison: '☠' });
    const observed: number[] = [];

    const outputs = await lastValueFrom(
      from(records).pipe(
        decodePosts(),
        batchItems({ maxCount: 4, maxWaitMs: 20, maxChars: 60 }),
        tapSafe<Item<Post>[]>({ next: (batch) => observed.push(batch.length) }),
        tagBatch({ tagger }),
        toMentions({ model: { id: tagger.modelId, version: tagger.modelVersion } }),
        encodeOutputs(),
        concatMap((messages: OutputMessage[]) => from(messages)),
        toArray(),
      ),
    );

    assert.equal(outputs.length, records.length, 'exactly one output message per input record');
    assert.deepStrictEqual(
      outputs.map((m) => m.ref.offset),
      records.map((r) => r.ref.offset),
      'in input order',
    );
    assert.equal(observed.reduce((a, b) => a + b, 0), records.length);
    assert.ok(tagger.calls.length >= 2, 'posts were tagged in batches');

    outputs.forEach((msg, i) => {
      const c = CASES[i];
      if (c.expect === 'mentions') {
        assert.equal(msg.output, 'mentions', `record ${i}`);
        const rec = { ...decodeStrict<PostMentions>(mentionsType, msg.value) };
        assert.equal(msg.key?.toString(), rec.post_id);
        assert.deepStrictEqual(rec.mentions.map((m) => m.text), c.mentions, `record ${i}`);
        assert.deepStrictEqual({ ...rec.origin }, { topic: 'posts', partition: 0, offset: 100 + i });
        assert.deepStrictEqual({ ...rec.model }, { id: 'fake-dictionary', version: '0.0.1' });
        assert.equal(typeof rec.latency_ms, 'number');
      } else {
        assert.equal(msg.output, 'deadletter', `record ${i}`);
        const dl = decodeStrict<DeadLetter>(deadletterType, msg.value);
        assert.equal(dl.stage, c.expect, `record ${i}: ${dl.error_message}`);
        assert.equal(dl.error_class, c.expect === 'decode' ? 'DecodeError' : 'TaggingError');
        assert.deepStrictEqual(dl.payload, c.value ?? Buffer.alloc(0));
        assert.deepStrictEqual(dl.key, Buffer.from(`key-${i}`));
        assert.deepStrictEqual(msg.key, Buffer.from(`key-${i}`));
        assert.equal(dl.source_offset, 100 + i);
        assert.equal(dl.attempts, 1);
        assert.ok(!dl.error_message.includes('\n'));
      }
    });
  });
});

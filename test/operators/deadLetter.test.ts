// deadLetterRecord: the DeadLetter record of a failed item is always encodable.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MentionflowError } from '../../common/errors.js';
import { MAX_ERROR_MESSAGE_LENGTH, deadLetterMessage, deadLetterRecord } from '../../operators/deadLetter.js';
import type { FailedItem } from '../../operators/types.js';
import { decodeStrict, loadSchema } from '../../schemas/registry.js';
import type { DeadLetter } from '../../schemas/types.generated.js';
import { ref } from './helpers.js';

function failed(message: string, offset = '5', payload: Buffer | null = null): FailedItem {
  return { kind: 'failed', ref: ref(offset), payload, stage: 'encode', error: new MentionflowError(message) };
}

describe('deadLetterRecord', () => {
  it('makes the message one line and well-formed', () => {
    const dl = deadLetterRecord(failed('第一行\n  第二行\r\n第三行 \uD800 结束'), 1);
    assert.equal(dl.error_message, '第一行 第二行 第三行 \uFFFD 结束');
  });

  it('cuts very long messages', () => {
    const dl = deadLetterRecord(failed('错'.repeat(MAX_ERROR_MESSAGE_LENGTH * 2)), 1);
    assert.equal(dl.error_message.length, MAX_ERROR_MESSAGE_LENGTH);
    assert.ok(dl.error_message.endsWith('…'));
  });

  it('writes -1 with a note for an offset that is not a long', () => {
    const dl = deadLetterRecord(failed('坏', '18446744073709551615'), 1);
    assert.equal(dl.source_offset, -1);
    assert.match(dl.error_message, /source offset "18446744073709551615" is not representable/);
  });

  it('payload defaults to empty bytes, key to null; attempts is 1', () => {
    const dl = deadLetterRecord(failed('坏'), 42);
    assert.deepStrictEqual(dl.payload, Buffer.alloc(0));
    assert.equal(dl.key, null);
    assert.equal(dl.attempts, 1);
    assert.equal(dl.failed_at, 42);
    assert.equal(dl.error_class, 'MentionflowError');
  });

  it('deadLetterMessage encodes a decodable record', () => {
    const msg = deadLetterMessage(failed('坏\n掉了', 'abc', Buffer.from([0, 1, 2])), 7);
    const dl = decodeStrict<DeadLetter>(loadSchema('deadletter'), msg.value);
    assert.deepStrictEqual(dl.payload, Buffer.from([0, 1, 2]));
    assert.equal(dl.source_offset, -1);
    assert.equal(msg.output, 'deadletter');
  });
});

/** What crosses the thread boundary: errors as data (class, message, context fields, retriable flag and causes survive) and mentions as packed arrays. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { BackendError, ConfigError, CorpusFormatError, KafkaEdgeError, ModelArtifactError, TaggingError } from '../../common/errors.js';
import { fromWire, packMentions, toWire, unpackMentions } from '../../models/threadProtocol.js';
import type { Mention } from '../../models/tagger.js';

/** Through structured clone, as postMessage sends it. */
const across = (err: unknown): Error => fromWire(structuredClone(toWire(err)));

test('the project error classes keep class, message and their context fields', () => {
  const artifact = across(new ModelArtifactError('/m', 'weights.bin checksum mismatch'));
  assert.ok(artifact instanceof ModelArtifactError);
  assert.equal(artifact.message, 'model artifact /m: weights.bin checksum mismatch');
  assert.equal(artifact.dir, '/m');
  assert.equal(artifact.name, 'ModelArtifactError');

  const corpus = across(new CorpusFormatError('dev.conll', 12, 'bad tag'));
  assert.ok(corpus instanceof CorpusFormatError);
  assert.equal(corpus.message, 'dev.conll:12: bad tag');
  assert.deepEqual([corpus.file, corpus.line], ['dev.conll', 12]);

  for (const C of [ConfigError, BackendError, TaggingError]) {
    const err = across(new C('something is off; fix it like so'));
    assert.equal(err.constructor, C);
    assert.equal(err.message, 'something is off; fix it like so');
  }
  assert.equal((across(new ConfigError('x')) as ConfigError).exitCode, 2);
  assert.equal((across(new KafkaEdgeError('x', { retriable: true })) as KafkaEdgeError).retriable, true);
});

test('built-in errors keep their class; unknown classes arrive as Error with their name; non-errors as Error', () => {
  const type = across(new TypeError('x is not iterable'));
  assert.equal(type.constructor, TypeError);
  assert.equal(type.message, 'x is not iterable');
  class OddError extends Error {
    override name = 'OddError';
  }
  const odd = across(new OddError('odd'));
  assert.equal(odd.constructor, Error);
  assert.equal(odd.name, 'OddError');
  assert.equal(odd.message, 'odd');
  const thrown = across('a string was thrown');
  assert.equal(thrown.constructor, Error);
  assert.equal(thrown.message, 'a string was thrown');
});

test('causes and the stack come along', () => {
  const inner = new RangeError('index 9 out of range');
  const outer = across(new ModelArtifactError('/m', 'inconsistent manifest: index 9 out of range', { cause: inner }));
  assert.ok(outer.cause instanceof RangeError);
  assert.equal((outer.cause as Error).message, 'index 9 out of range');
  assert.match(outer.stack ?? '', /^ModelArtifactError: model artifact \/m: inconsistent manifest[^\n]*\n\s+at .*threadProtocol\.test\.js/, 'the stack of where it was thrown');
});

test('mentions packed into transferred arrays come back as the same mentions, texts sliced from the caller\'s texts', () => {
  const texts = ['张三在北京', '', '😀李四去了𠮷野家', 'x'];
  const mentions: Mention[][] = [
    [
      { text: '张三', label: 'PER.NAM', type: 'PER', kind: 'NAM', start: 0, end: 2, start_utf16: 0, end_utf16: 2, confidence: 0.91 },
      { text: '北京', label: 'GPE.NAM', type: 'GPE', kind: 'NAM', start: 3, end: 5, start_utf16: 3, end_utf16: 5, confidence: 1 },
    ],
    [],
    [
      { text: '李四', label: 'PER.NAM', type: 'PER', kind: 'NAM', start: 1, end: 3, start_utf16: 2, end_utf16: 4, confidence: 0.5 },
      { text: '𠮷野家', label: 'ORG.NOM', type: 'ORG', kind: 'NOM', start: 5, end: 8, start_utf16: 6, end_utf16: 10, confidence: 0.123456789 },
    ],
    [],
  ];
  const { packed, transfer } = packMentions(mentions);
  assert.deepEqual(packed.labels, ['PER.NAM', 'GPE.NAM', 'ORG.NOM'], 'each label once');
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage(packed, transfer);
    assert.equal(packed.offsets.byteLength, 0, 'the arrays were moved, not copied');
  } finally {
    port1.close();
    port2.close();
  }
  assert.deepEqual(unpackMentions(structuredClone(packMentions(mentions).packed), texts), mentions);
  assert.deepEqual(unpackMentions(packMentions([[], []]).packed, ['a', 'b']), [[], []]);
});

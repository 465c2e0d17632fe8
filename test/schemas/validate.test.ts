// The wire rules of validate(): every value avsc accepts but would write wrongly is reported, with its
// path, wherever it sits (field, union branch, array item, map key or value, nested record), and a value
// breaking none passes. validate() first asks the compiled predicate and reports only when it says no,
// so a rule the predicate missed would show up here as an empty result.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MIN_EXACT_LONG, encodeStrict, loadSchema, validate } from '../../schemas/registry.js';

const LONE = 'a\uD800b';
const MESSAGES = {
  surrogate: 'string contains a lone UTF-16 surrogate (would be written as U+FFFD)',
  keySurrogate: 'map key contains a lone UTF-16 surrogate',
  proto: 'map key "__proto__" cannot be decoded by avsc',
  long: `long ${MIN_EXACT_LONG - 1} is below -2^52 and would be corrupted by avsc`,
};

interface Fault {
  /** Breaks the value in place; returns the issues validate must report for it. */
  apply: (post: Record<string, unknown>) => Array<{ path: string; message: string }>;
}

/** One fault per place a wire rule can bite in a Post v2. */
const FAULTS: Record<string, Fault> = {
  text: { apply: (p) => ((p.text = LONE), [{ path: 'text', message: MESSAGES.surrogate }]) },
  replyTo: { apply: (p) => ((p.reply_to = LONE), [{ path: 'reply_to', message: MESSAGES.surrogate }]) },
  createdAt: { apply: (p) => ((p.created_at = MIN_EXACT_LONG - 1), [{ path: 'created_at', message: MESSAGES.long }]) },
  tag: {
    apply: (p) => {
      const tags = [...(p.topic_tags as string[]), LONE];
      p.topic_tags = tags;
      return [{ path: `topic_tags[${tags.length - 1}]`, message: MESSAGES.surrogate }];
    },
  },
  attributeValue: {
    apply: (p) => (((p.attributes as Record<string, string>).bad = LONE), [{ path: 'attributes["bad"]', message: MESSAGES.surrogate }]),
  },
  attributeKeyAndValue: {
    // a map entry breaking a rule with its key and another with its value
    apply: (p) => (
      ((p.attributes as Record<string, string>)['k\uDC00'] = LONE),
      [
        { path: 'attributes["k\\udc00"]', message: MESSAGES.keySurrogate },
        { path: 'attributes["k\\udc00"]', message: MESSAGES.surrogate },
      ]
    ),
  },
  protoKey: {
    apply: (p) => {
      Object.defineProperty(p.attributes, '__proto__', { value: 'x', enumerable: true, configurable: true, writable: true });
      return [{ path: 'attributes["__proto__"]', message: MESSAGES.proto }];
    },
  },
  geoPlace: {
    apply: (p) => ((p.geo = { lat: 31.2, lon: 121.4, place: LONE }), [{ path: 'geo.place', message: MESSAGES.surrogate }]),
  },
};

const basePost = () => ({
  id: '1',
  text: '我在北京见到了张三',
  author_id: 'u1',
  created_at: 1700000000000,
  source: 'weibo',
  lang: null,
  reply_to: null,
  attributes: { client: 'web' } as Record<string, string>,
  topic_tags: ['天气'],
  geo: null as unknown,
});

const key = (i: { path: string; message: string }) => `${i.path} | ${i.message}`;

describe('validate: the wire rules', () => {
  it('a value breaking no rule has no issues and encodes', () => {
    const type = loadSchema('post', 2);
    assert.deepEqual(validate(type, basePost()), []);
    assert.ok(encodeStrict(type, basePost()).length > 0);
  });

  it('property: any combination of broken rules is reported exactly, each with its path', () => {
    const type = loadSchema('post', 2);
    fc.assert(
      fc.property(fc.subarray(Object.keys(FAULTS), { minLength: 1 }), (names) => {
        const post = basePost() as Record<string, unknown>;
        const expected = names.flatMap((n) => FAULTS[n].apply(post));
        assert.deepEqual(validate(type, post).map(key).sort(), expected.map(key).sort());
        assert.throws(() => encodeStrict(type, post), { name: 'SchemaValidationError' });
      }),
      { numRuns: 200 },
    );
  });

  it('inside arrays of records: the mention whose text is broken, by index', () => {
    const type = loadSchema('mentions');
    const mention = (text: string, start: number) => ({ text, type: 'PER', kind: 'NAM', start, end: start + 2, start_utf16: start, end_utf16: start + 2, confidence: 0.5 });
    const record = {
      post_id: 'p',
      created_at: 0,
      origin: null,
      mentions: [mention('张三', 0), mention(LONE, 3), mention('李四', 6), mention(LONE, 9)],
      model: { id: 'm', version: '1' },
      processed_at: 0,
      latency_ms: null,
    };
    assert.deepEqual(validate(type, record), [
      { path: 'mentions[1].text', message: MESSAGES.surrogate },
      { path: 'mentions[3].text', message: MESSAGES.surrogate },
    ]);
  });
});

/** The one example-source syntax (sourceSpec.ts): parsing, bounds, globs and archive hour ranges. Pure, no I/O. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../common/errors.js';
import { archiveHourOf, globToRegExp, inHourRange, parseHourKey, parseSourceSpec, parseTopicBound } from '../../pipeline/train/sources/sourceSpec.js';

describe('parseSourceSpec', () => {
  it('a plain path has no format (decided by the path and the role later)', () => {
    assert.deepEqual(parseSourceSpec('data/train.conll', '--train'), { kind: 'path', text: 'data/train.conll', path: 'data/train.conll' });
  });

  it('an explicit format prefix, and a Windows drive letter is not one', () => {
    assert.deepEqual(parseSourceSpec('seg:a/b.txt', '--x'), { kind: 'path', text: 'seg:a/b.txt', path: 'a/b.txt', format: 'seg' });
    assert.equal((parseSourceSpec('C:/data/x.conll', '--x') as { path: string }).path, 'C:/data/x.conll');
    assert.throws(() => parseSourceSpec('csv:a.csv', '--train'), (e: Error) => e instanceof ConfigError && /--train csv:a.csv: unknown source format "csv"/.test(e.message));
  });

  it('an archive hour range: dates and hours, [from, to), normalised to YYYY-MM-DDTHH', () => {
    const s = parseSourceSpec('arch/posts?from=2026-12-01&to=2026-12-02T06', '--text');
    assert.deepEqual(s, { kind: 'path', text: 'arch/posts?from=2026-12-01&to=2026-12-02T06', path: 'arch/posts', from: '2026-12-01T00', to: '2026-12-02T06' });
    assert.throws(() => parseSourceSpec('arch?from=2026-12-02&to=2026-12-02', '--x'), /empty \(to is exclusive\)/);
    assert.throws(() => parseSourceSpec('arch?from=2026-02-30', '--x'), /not a date YYYY-MM-DD/);
    assert.throws(() => parseSourceSpec('arch?from=2026-12-01T24', '--x'), /not a date/);
    assert.throws(() => parseSourceSpec('arch?since=2026-12-01', '--x'), /unknown parameter "since"/);
    assert.throws(() => parseSourceSpec('conll:a.conll?from=2026-12-01', '--x'), /apply to avro sources only/);
    assert.throws(() => parseSourceSpec('arch?from=', '--x'), /has no value/);
  });

  it('a ? in a path is a glob character unless it starts a trailing key=value query', () => {
    assert.deepEqual(parseSourceSpec('arch/p?/x.avro', '--x'), { kind: 'path', text: 'arch/p?/x.avro', path: 'arch/p?/x.avro' });
    assert.deepEqual(parseSourceSpec('arch/posts+?+*.avro?from=2026-12-01', '--x'), { kind: 'path', text: 'arch/posts+?+*.avro?from=2026-12-01', path: 'arch/posts+?+*.avro', from: '2026-12-01T00' });
  });

  it('a topic range: offsets, times, earliest/latest, partitions, brokers', () => {
    assert.deepEqual(parseSourceSpec('kafka:posts', '--x'), { kind: 'kafka', text: 'kafka:posts', topic: 'posts', from: 'earliest', to: 'latest' });
    const s = parseSourceSpec('kafka:examples?from=100&to=2026-12-01T08:00Z&partitions=0,2&brokers=h1:9092,h2:9092', '--x');
    assert.deepEqual(s, {
      kind: 'kafka',
      text: 'kafka:examples?from=100&to=2026-12-01T08:00Z&partitions=0,2&brokers=h1:9092,h2:9092',
      topic: 'examples',
      from: { offset: '100' },
      to: { timestamp: Date.UTC(2026, 11, 1, 8) },
      partitions: [0, 2],
      brokers: ['h1:9092', 'h2:9092'],
    });
    assert.throws(() => parseSourceSpec('kafka:posts?from=20&to=10', '--x'), /from offset is after to offset/);
    assert.throws(() => parseSourceSpec('kafka:posts?from=2026-12-02&to=2026-12-01', '--x'), /from time is after to time/);
    assert.throws(() => parseSourceSpec('kafka:po/sts', '--x'), /not a topic name/);
    assert.throws(() => parseSourceSpec('kafka:posts?partitions=a', '--x'), /partitions must be/);
    assert.throws(() => parseSourceSpec('', '--x'), /empty source/);
  });

  it('parseTopicBound and parseHourKey reject what they cannot read', () => {
    assert.deepEqual(parseTopicBound('0', 'w'), { offset: '0' });
    assert.throws(() => parseTopicBound('-1', 'w'), ConfigError);
    assert.throws(() => parseTopicBound('yesterday', 'w'), ConfigError);
    assert.equal(parseHourKey('2026-01-09T07', 'w'), '2026-01-09T07');
  });
});

describe('globs and archive hours', () => {
  it('globToRegExp: * within a segment, ** any depth (or none), ? one char, dots literal', () => {
    const re = globToRegExp('arch/**/*.avro');
    assert.ok(re.test('arch/x.avro'));
    assert.ok(re.test('arch/posts/date=2026-12-01/hour=05/posts+0+1-2.avro'));
    assert.ok(!re.test('arch/x.avro.tmp'));
    assert.ok(!re.test('arch/xavro'));
    assert.ok(globToRegExp('a/*.avro').test('a/b.avro'));
    assert.ok(!globToRegExp('a/*.avro').test('a/b/c.avro'));
    assert.ok(globToRegExp('a/p?.txt').test('a/p1.txt'));
  });

  it('archiveHourOf / inHourRange read the archive layout; files outside it are left out of a range', () => {
    const f = 'arch/posts/date=2026-12-01/hour=05/posts+0+0000000000000000000-0000000000000000099.avro';
    assert.equal(archiveHourOf(f), '2026-12-01T05');
    assert.equal(archiveHourOf('arch/x.avro'), undefined);
    assert.ok(inHourRange(f, '2026-12-01T05', '2026-12-01T06'));
    assert.ok(!inHourRange(f, '2026-12-01T06'));
    assert.ok(!inHourRange(f, undefined, '2026-12-01T05'));
    assert.ok(inHourRange('arch/x.avro'));
    assert.ok(!inHourRange('arch/x.avro', '2026-12-01T00'));
  });
});

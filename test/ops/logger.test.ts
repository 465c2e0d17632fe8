// Structured logger: JSON lines, levels, child fields, error serialisation, pretty format,
// and the kafkajs log adapter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, KafkaEdgeError } from '../../common/errors.js';
import { createLogger, parseLogLevel, silentLogger, type LoggerOptions } from '../../pipeline/ops/logger.js';
import { kafkaLogCreator, kafkaLogLevel } from '../../pipeline/kafka/logAdapter.js';

const FIXED = new Date('2024-05-01T08:00:00.000Z');

function capture(opts: Partial<LoggerOptions> = {}) {
  const chunks: string[] = [];
  const stream = { write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WritableStream;
  const logger = createLogger({ level: 'info', stream, now: () => FIXED, ...opts });
  return { logger, chunks, lines: () => chunks.map((c) => JSON.parse(c) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes one JSON object per line with time, level, msg and the fields', () => {
    const { logger, chunks, lines } = capture({ base: { service: 'mentionflow' } });
    logger.info('batch tagged', { size: 64, topic: 'posts' });
    assert.equal(chunks.length, 1);
    assert.ok(chunks[0].endsWith('\n') && !chunks[0].slice(0, -1).includes('\n'));
    assert.deepEqual(lines()[0], { time: FIXED.toISOString(), level: 'info', msg: 'batch tagged', service: 'mentionflow', size: 64, topic: 'posts' });
    assert.deepEqual(Object.keys(lines()[0]).slice(0, 3), ['time', 'level', 'msg']);
  });

  it('drops lines below the level', () => {
    const { logger, lines } = capture({ level: 'warn' });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    assert.deepEqual(lines().map((l) => l.level), ['warn', 'error']);
    assert.equal(logger.isLevelEnabled('info'), false);
    assert.equal(logger.isLevelEnabled('error'), true);
  });

  it('child() adds fields; call fields win over base fields', () => {
    const { logger, lines } = capture({ base: { a: 1, b: 1 } });
    const child = logger.child({ b: 2, c: 2 });
    child.info('x', { c: 3 });
    logger.info('y');
    assert.deepEqual(lines()[0], { time: FIXED.toISOString(), level: 'info', msg: 'x', a: 1, b: 2, c: 3 });
    assert.deepEqual(lines()[1], { time: FIXED.toISOString(), level: 'info', msg: 'y', a: 1, b: 1 });
  });

  it('keeps reserved keys: a field named msg/level/time is written with a leading _', () => {
    const { logger, lines } = capture();
    logger.info('real', { msg: 'fake', level: 'debug', time: 0 });
    const l = lines()[0];
    assert.equal(l.msg, 'real');
    assert.equal(l.level, 'info');
    assert.deepEqual([l._msg, l._level, l._time], ['fake', 'debug', 0]);
  });

  it('serialises errors as name, message, context and cause, without the stack unless debug', () => {
    const { logger, lines } = capture();
    const err = new KafkaEdgeError('cannot write', { cause: new Error('socket closed'), retriable: true });
    logger.error('produce failed', { err });
    const e = lines()[0].err as Record<string, unknown>;
    assert.equal(e.name, 'KafkaEdgeError');
    assert.equal(e.message, 'cannot write');
    assert.equal(e.retriable, true);
    assert.deepEqual(e.cause, { name: 'Error', message: 'socket closed' });
    assert.equal(e.stack, undefined);

    const dbg = capture({ level: 'debug' });
    dbg.logger.error('produce failed', { err });
    const d = dbg.lines()[0].err as Record<string, unknown>;
    assert.match(String(d.stack), /KafkaEdgeError: cannot write/);
    assert.match(String((d.cause as Record<string, unknown>).stack), /socket closed/);
  });

  it('an Error passed as the fields object is logged under err', () => {
    const { logger, lines } = capture();
    logger.warn('oops', new Error('boom'));
    assert.deepEqual(lines()[0].err, { name: 'Error', message: 'boom' });
  });

  it('makes buffers, bigints, dates, maps, cycles and non-finite numbers JSON-safe', () => {
    const { logger, lines } = capture();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    logger.info('values', { buf: Buffer.from('abc'), big: 2n ** 70n, when: FIXED, m: new Map([['k', 1]]), cyclic, nan: NaN, skip: undefined });
    const l = lines()[0];
    assert.equal(l.buf, '<Buffer 3 bytes>');
    assert.equal(l.big, (2n ** 70n).toString());
    assert.equal(l.when, FIXED.toISOString());
    assert.deepEqual(l.m, { k: 1 });
    assert.deepEqual(l.cyclic, { name: 'loop', self: '[Circular]' });
    assert.equal(l.nan, 'NaN');
    assert.ok(!('skip' in l));
  });

  it('pretty format: time LEVEL msg key=value', () => {
    const { logger, chunks } = capture({ format: 'pretty' });
    logger.warn('slow batch', { size: 64, topic: 'posts in', ok: true });
    assert.equal(chunks[0], `${FIXED.toISOString()} WARN  slow batch size=64 topic="posts in" ok=true\n`);
  });

  it('never throws when the stream does', () => {
    const stream = {
      write: () => {
        throw new Error('EPIPE');
      },
    } as unknown as NodeJS.WritableStream;
    const logger = createLogger({ level: 'info', stream });
    assert.doesNotThrow(() => logger.error('lost'));
  });

  it('rejects unknown levels and formats with a ConfigError', () => {
    assert.equal(parseLogLevel('debug'), 'debug');
    assert.throws(() => parseLogLevel('verbose'), ConfigError);
    assert.throws(() => createLogger({ level: 'loud' as never }), ConfigError);
    assert.throws(() => createLogger({ level: 'info', format: 'xml' as never }), ConfigError);
  });

  it('silentLogger writes nothing and its children are silent too', () => {
    const s = silentLogger();
    assert.doesNotThrow(() => s.child({ a: 1 }).error('x'));
    assert.equal(s.isLevelEnabled('error'), false);
  });
});

describe('kafkaLogCreator', () => {
  it('maps kafkajs log levels (ERROR 1, WARN 2, INFO 4, DEBUG 5) onto the logger', () => {
    const { logger, lines } = capture({ level: 'debug' });
    const log = kafkaLogCreator(logger)(5 as never);
    const entry = (level: number, message: string, extra: Record<string, unknown> = {}) =>
      log({ namespace: 'Consumer', level, label: 'X', log: { timestamp: 'T', message, ...extra } } as never);
    entry(1, 'crash', { groupId: 'g', stack: 'Error: at ...' });
    entry(2, 'rebalancing');
    entry(4, 'joined');
    entry(5, 'fetch');
    entry(0, 'nothing');
    const out = lines();
    assert.deepEqual(out.map((l) => [l.level, l.msg]), [['error', 'crash'], ['warn', 'rebalancing'], ['info', 'joined'], ['debug', 'fetch']]);
    assert.equal(out[0].component, 'kafkajs');
    assert.equal(out[0].namespace, 'Consumer');
    assert.equal(out[0].groupId, 'g');
    assert.equal(out[0].stack, 'Error: at ...', 'stack kept at debug level');
    assert.ok(!('timestamp' in out[0]), 'kafkajs timestamp replaced by time');
  });

  it('drops the kafkajs stack above debug level, and maps our levels to kafkajs numbers', () => {
    const { logger, lines } = capture({ level: 'info' });
    kafkaLogCreator(logger)(4 as never)({ namespace: 'Producer', level: 1, label: 'ERROR', log: { timestamp: 'T', message: 'failed', stack: 'S' } } as never);
    assert.ok(!('stack' in lines()[0]));
    assert.deepEqual((['error', 'warn', 'info', 'debug'] as const).map(kafkaLogLevel), [1, 2, 4, 5]);
  });
});

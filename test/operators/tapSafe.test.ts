// tapSafe: observe values; a listener's error never reaches the stream.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { ConfigError } from '../../common/errors.js';
import { tapSafe } from '../../operators/tapSafe.js';
import { newScheduler } from './helpers.js';

const VALUES = { a: '微博一', b: '微博二', c: '微博三' };

describe('tapSafe', () => {
  it('never: emits nothing, calls nothing', () => {
    const next = mock.fn();
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold<string>('-');
      expectObservable(src.pipe(tapSafe({ next }))).toBe('-');
      expectSubscriptions(src.subscriptions).toBe('^');
    });
    assert.equal(next.mock.callCount(), 0);
  });

  it('empty: completes', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<string>('|').pipe(tapSafe({ next: () => {} }))).toBe('|');
    });
  });

  it('one value and many values: passed through unchanged, each observed once', () => {
    const seen: string[] = [];
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', VALUES).pipe(tapSafe({ next: (v) => seen.push(v) }))).toBe('a|', VALUES);
      expectObservable(cold('a-b-c|', VALUES).pipe(tapSafe({ next: (v) => seen.push(v) }))).toBe('a-b-c|', VALUES);
    });
    assert.deepStrictEqual(seen, ['微博一', '微博一', '微博二', '微博三']);
  });

  it('error: passes through', () => {
    const err = new Error('源头出错');
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a#', VALUES, err).pipe(tapSafe({ next: () => {} }))).toBe('a#', VALUES, err);
    });
  });

  it('endless source: observes every value, never completes', () => {
    const next = mock.fn();
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('abcabc-', VALUES);
      expectObservable(src.pipe(tapSafe({ next }))).toBe('abcabc-', VALUES);
      expectSubscriptions(src.subscriptions).toBe('^');
    });
    assert.equal(next.mock.callCount(), 6);
  });

  it('early unsubscribe: unsubscribes the source, no more observations', () => {
    const next = mock.fn();
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a-b-c|', VALUES);
      expectObservable(src.pipe(tapSafe({ next })), '^-!').toBe('a-', VALUES);
      expectSubscriptions(src.subscriptions).toBe('^-!');
    });
    assert.equal(next.mock.callCount(), 1);
  });

  it('callback throws: the value flows on, the error goes to onListenerError', () => {
    const boom = new Error('指标服务挂了');
    const reported: unknown[] = [];
    newScheduler().run(({ cold, expectObservable }) => {
      const op = tapSafe<string>({
        next: (v) => {
          if (v === VALUES.b) throw boom;
        },
        onListenerError: (err) => reported.push(err),
      });
      expectObservable(cold('abc|', VALUES).pipe(op)).toBe('abc|', VALUES);
    });
    assert.deepStrictEqual(reported, [boom]);
  });

  it('callback throws: by default the error becomes a process warning; so does a throwing reporter', () => {
    const warnings = mock.method(process, 'emitWarning', () => {});
    try {
      newScheduler().run(({ cold, expectObservable }) => {
        const throwing = tapSafe<string>({
          next: () => {
            throw new TypeError('坏标签');
          },
        });
        expectObservable(cold('a|', VALUES).pipe(throwing)).toBe('a|', VALUES);
        const doubleFault = tapSafe<string>({
          next: () => {
            throw new Error('一');
          },
          onListenerError: () => {
            throw new Error('二');
          },
        });
        expectObservable(cold('b|', VALUES).pipe(doubleFault)).toBe('b|', VALUES);
      });
      assert.equal(warnings.mock.callCount(), 2);
      assert.match(String(warnings.mock.calls[0].arguments[0]), /tapSafe listener failed: TypeError: 坏标签/);
      assert.match(String(warnings.mock.calls[1].arguments[0]), /Error: 二/);
    } finally {
      warnings.mock.restore();
    }
  });

  it('rejects bad options with a ConfigError', () => {
    assert.throws(() => tapSafe({} as never), (e: unknown) => e instanceof ConfigError && /next must be a function/.test(e.message));
    assert.throws(() => tapSafe({ next: () => {}, onListenerError: 'log' as never }), ConfigError);
  });
});

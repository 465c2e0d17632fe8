// Marble specs on virtual time for operators that await promises (tagBatch
// and its tagger). TestScheduler.run flushes virtual time in one synchronous
// loop, so a promise resolved by a virtual timer would only settle after the
// test is over. runAsyncMarbles runs the scheduler's actions one at a time
// instead and lets the promise callbacks run after each, like an event loop
// on virtual time. Diagrams use run-mode syntax (one frame per character, 1 ms
// per frame, time progressions such as `10ms`, groups `(ab)`).
import assert from 'node:assert/strict';
import { Observable } from 'rxjs';
import type { ObservableNotification, Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { lookup } from './helpers.js';
import type { Mention, Tagger } from '../../models/tagger.js';

interface Message {
  frame: number;
  notification: ObservableNotification<unknown>;
}

interface SubscriptionRecord {
  subscribedFrame: number;
  unsubscribedFrame: number;
}

function parse(marbles: string, values?: Record<string, unknown>, error?: unknown): Message[] {
  const previous = TestScheduler.frameTimeFactor;
  TestScheduler.frameTimeFactor = 1;
  try {
    return TestScheduler.parseMarbles(marbles, values, error, false, true).map((m) => ({ frame: m.frame, notification: { ...m.notification } }));
  } finally {
    TestScheduler.frameTimeFactor = previous;
  }
}

function parseSubscription(marbles: string): SubscriptionRecord {
  const previous = TestScheduler.frameTimeFactor;
  TestScheduler.frameTimeFactor = 1;
  try {
    const { subscribedFrame, unsubscribedFrame } = TestScheduler.parseMarblesAsSubscriptions(marbles, true);
    return { subscribedFrame, unsubscribedFrame };
  } finally {
    TestScheduler.frameTimeFactor = previous;
  }
}

/** Lets every pending promise callback run (setImmediate fires after the microtask queue is empty). */
function microtasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs the actions of `ts` in time order, draining promise callbacks after each one. */
export async function flushAsync(ts: TestScheduler, maxFrame = 100_000): Promise<void> {
  await microtasks();
  for (;;) {
    const action = ts.actions[0];
    if (action === undefined || action.delay > maxFrame) break;
    ts.actions.shift();
    ts.frame = action.delay;
    const error: unknown = action.execute(action.state, action.delay);
    if (error) throw error;
    await microtasks();
  }
}

export interface ColdAsync<T> extends Observable<T> {
  readonly subscriptions: SubscriptionRecord[];
}

export interface AsyncHelpers {
  ts: TestScheduler;
  /** A cold observable from a diagram; `subscriptions` logs when it was subscribed and unsubscribed. */
  cold<T>(marbles: string, values?: Record<string, T>, error?: unknown): ColdAsync<T>;
  /** Subscribes at frame 0 (unsubscribes where `unsubscription` has `!`); checked after the flush. */
  expectObservable<T>(observable: Observable<T>, unsubscription?: string): { toBe(marbles: string, values?: Record<string, unknown>, error?: unknown): void };
  expectSubscriptions(logs: SubscriptionRecord[]): { toBe(marbles: string): void };
}

/** Like TestScheduler.run, for operators that await promises; resolves once everything was checked. */
export async function runAsyncMarbles(body: (helpers: AsyncHelpers) => void, ts: TestScheduler = new TestScheduler(assert.deepStrictEqual)): Promise<void> {
  const checks: Array<() => void> = [];
  const helpers: AsyncHelpers = {
    ts,
    cold<T>(marbles: string, values?: Record<string, T>, error?: unknown): ColdAsync<T> {
      const messages = parse(marbles, values, error);
      const subscriptions: SubscriptionRecord[] = [];
      const observable = new Observable<T>((subscriber) => {
        const record = { subscribedFrame: ts.now(), unsubscribedFrame: Infinity };
        subscriptions.push(record);
        const timers: Subscription[] = messages.map(({ frame, notification }) =>
          ts.schedule(() => {
            if (notification.kind === 'N') subscriber.next(notification.value as T);
            else if (notification.kind === 'E') subscriber.error(notification.error);
            else subscriber.complete();
          }, frame),
        );
        return () => {
          record.unsubscribedFrame = ts.now();
          for (const timer of timers) timer.unsubscribe();
        };
      });
      return Object.assign(observable, { subscriptions }) as ColdAsync<T>;
    },
    expectObservable<T>(observable: Observable<T>, unsubscription?: string) {
      const actual: Message[] = [];
      let subscription: Subscription | undefined;
      ts.schedule(() => {
        subscription = observable.subscribe({
          next: (value) => actual.push({ frame: ts.now(), notification: { kind: 'N', value, error: undefined } as ObservableNotification<unknown> }),
          error: (error: unknown) => actual.push({ frame: ts.now(), notification: { kind: 'E', value: undefined, error } as ObservableNotification<unknown> }),
          complete: () => actual.push({ frame: ts.now(), notification: { kind: 'C', value: undefined, error: undefined } as ObservableNotification<unknown> }),
        });
      }, 0);
      if (unsubscription !== undefined) {
        const { unsubscribedFrame } = parseSubscription(unsubscription);
        if (unsubscribedFrame !== Infinity) ts.schedule(() => subscription?.unsubscribe(), unsubscribedFrame);
      }
      return {
        toBe: (marbles: string, values?: Record<string, unknown>, error?: unknown) => {
          checks.push(() => assert.deepStrictEqual(actual, parse(marbles, values, error)));
        },
      };
    },
    expectSubscriptions(logs: SubscriptionRecord[]) {
      return {
        toBe: (marbles: string) => {
          checks.push(() => assert.deepStrictEqual(logs, [parseSubscription(marbles)]));
        },
      };
    },
  };
  body(helpers);
  await flushAsync(ts);
  for (const check of checks) check();
}

export interface VirtualTaggerOptions {
  /** Virtual ms a call takes; default 10 per call. */
  durationMs?: (texts: readonly string[]) => number;
  /** A call that includes a text containing this rejects (after its duration). */
  poison?: string;
}

/** A dictionary Tagger whose calls take virtual time on `ts`; it records when each call started. */
export class VirtualTagger implements Tagger {
  readonly modelId = 'fake-dictionary';
  readonly modelVersion = '0.0.1';
  readonly calls: Array<{ at: number; texts: string[] }> = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    private readonly ts: TestScheduler,
    private readonly options: VirtualTaggerOptions = {},
  ) {}

  tag(texts: readonly string[]): Promise<Mention[][]> {
    this.calls.push({ at: this.ts.now(), texts: [...texts] });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const duration = this.options.durationMs?.(texts) ?? 10;
    return new Promise((resolve, reject) => {
      this.ts.schedule(() => {
        this.inFlight--;
        const { poison } = this.options;
        if (poison !== undefined && texts.some((t) => t.includes(poison))) reject(new Error(`cannot tag text containing ${poison}`));
        else resolve(texts.map(lookup));
      }, duration);
    });
  }

  dispose(): void {}
}

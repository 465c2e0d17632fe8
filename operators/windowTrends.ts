import { Observable, asyncScheduler } from 'rxjs';
import type { OperatorFunction, SchedulerLike, Subscription } from 'rxjs';
import { ConfigError } from '../common/errors.js';
import type { EntityTrend } from '../schemas/types.generated.js';
import { checkFunction, checkNumberAtLeast, checkOptionsObject } from './options.js';
import { TREND_DEFAULTS, TrendState, type TrendInput, type TrendSettings } from './trends/trendState.js';

const OP = 'windowTrends';

/** Options of {@link windowTrends}: the window geometry and the trend settings (trends/trendState.ts), plus timing. */
export interface WindowTrendsOptions extends Partial<Omit<TrendSettings, 'sizeMs' | 'hopMs'>> {
  /** Window size in ms (required unless `state` is given). */
  windowMs?: number;
  /** Hop in ms (<= windowMs); default windowMs (tumbling windows). */
  hopMs?: number;
  /**
   * Idle input: after this many ms (on `scheduler`) without a record, event
   * time is taken to move on with the clock: the watermark rises by the time
   * passed, again every idleTimeoutMs while idle, closing the windows it
   * passes. Default Infinity: windows close only on later records or at the
   * end of the input.
   */
  idleTimeoutMs?: number;
  /**
   * The input source of a record, e.g. `(r) => String(r.origin?.partition)`:
   * the watermark is then the smallest of the sources' (TrendState.watermark),
   * and with idleTimeoutMs a source silent that long is left out of it until
   * its next record. Default: one source. If it throws, the stream errors.
   */
  sourceOf?: (record: TrendInput) => string;
  /** Sources to wait for from the start (TrendState.addSource), e.g. the partitions assigned; with idleTimeoutMs one that stays silent that long is left out. */
  sources?: readonly string[];
  /** Scheduler of the idle timer; default asyncScheduler. */
  scheduler?: SchedulerLike;
  /** Wall clock for `emitted_at`; default Date.now. If it throws, the stream errors. */
  now?: () => number;
  /**
   * The state to run on (restored from a snapshot, or to read its gauges);
   * its settings then apply and the settings options must be left out.
   * Default: a new TrendState per subscription.
   */
  state?: TrendState;
}

/** What windowTrends emits: a closed window's trends, or a late record (never dropped silently). */
export type TrendEvent<T extends TrendInput = TrendInput> =
  | { kind: 'trend'; trend: EntityTrend }
  | { kind: 'late'; record: T; watermark: number };

/** The settings the options give (defaults filled in). */
export function trendSettings(opts: WindowTrendsOptions): TrendSettings {
  const { windowMs, hopMs, idleTimeoutMs: _i, scheduler: _s, now: _n, state: _st, sourceOf: _so, sources: _ss, ...rest } = opts;
  if (windowMs === undefined) throw new ConfigError(`${OP}: windowMs is required, e.g. 60000 for one-minute windows`);
  const given = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Partial<TrendSettings>;
  return { ...TREND_DEFAULTS, ...given, sizeMs: windowMs, hopMs: hopMs ?? windowMs };
}

/**
 * Windowed entity trends over mention records, by event time (the post's
 * `created_at`): tumbling or hopping windows, a watermark (largest created_at
 * seen minus `latenessMs`), one {@link EntityTrend} per window when the
 * watermark passes its end (top entities per type, new and rising ones), and
 * every record whose windows had all closed emitted as `late`. At the end of
 * the input every open window is closed and emitted; on error the open windows
 * are dropped (their records were not acknowledged) and the error passes
 * through; unsubscribing cancels the idle timer. Semantics in detail:
 * trends/trendState.ts.
 *
 * Throws a ConfigError at construction for bad options. A record whose
 * created_at is not a finite number errors the stream.
 */
export function windowTrends<T extends TrendInput>(opts: WindowTrendsOptions): OperatorFunction<T, TrendEvent<T>> {
  checkOptionsObject(OP, opts, false);
  let settings: TrendSettings;
  if (opts.state !== undefined) {
    if (!(opts.state instanceof TrendState)) throw new ConfigError(`${OP}: state must be a TrendState`);
    const extra = Object.keys(opts).filter((k) => !['state', 'idleTimeoutMs', 'scheduler', 'now', 'sourceOf', 'sources'].includes(k) && (opts as Record<string, unknown>)[k] !== undefined);
    if (extra.length > 0) throw new ConfigError(`${OP}: with state, leave out ${extra.join(', ')} (the state's settings apply)`);
    settings = opts.state.settings;
  } else {
    settings = trendSettings(opts);
    new TrendState(settings); // checks the settings now, at construction
  }
  const idleMs = opts.idleTimeoutMs ?? Infinity;
  checkNumberAtLeast(OP, 'idleTimeoutMs', idleMs, 0, true, 'e.g. 5000 (ms), or Infinity to close windows only on records and at the end');
  checkFunction(OP, 'now', opts.now, true, 'pass () => Date.now()');
  checkFunction(OP, 'sourceOf', opts.sourceOf, true, 'pass (record) => String(record.origin?.partition)');
  const sourceOf = opts.sourceOf;
  if (opts.sources !== undefined && (!Array.isArray(opts.sources) || opts.sources.some((x) => typeof x !== 'string') || sourceOf === undefined)) {
    throw new ConfigError(`${OP}: sources must be an array of source names, with sourceOf to name each record's source`);
  }
  const scheduler = opts.scheduler ?? asyncScheduler;
  if (typeof scheduler?.schedule !== 'function') throw new ConfigError(`${OP}: scheduler must be an RxJS SchedulerLike (e.g. asyncScheduler)`);
  const now = opts.now ?? Date.now;
  const given = opts.state;

  return (source) =>
    new Observable<TrendEvent<T>>((subscriber) => {
      const state = given ?? new TrendState(settings);
      let timer: Subscription | null = null;
      const lastSeen = new Map<string, number>(); // source -> scheduler time of its last record
      for (const src of opts.sources ?? []) {
        state.addSource(src);
        lastSeen.set(src, scheduler.now());
      }
      const markIdleSources = (): void => {
        if (idleMs === Infinity) return;
        const at = scheduler.now();
        for (const [src, seen] of lastSeen) if (at - seen >= idleMs) state.markIdle(src);
      };
      const emit = (close: (at: number) => EntityTrend[]): void => {
        for (const trend of close(now())) {
          if (subscriber.closed) return;
          subscriber.next({ kind: 'trend', trend });
        }
      };
      const onIdle = (): void => {
        timer = null;
        try {
          state.advanceIdle(idleMs);
          markIdleSources();
          emit((at) => state.close(at));
        } catch (err) {
          subscriber.error(err);
          return;
        }
        if (!subscriber.closed) timer = scheduler.schedule(onIdle, idleMs);
      };
      const subscription = source.subscribe({
        next: (record) => {
          if (subscriber.closed) return;
          timer?.unsubscribe();
          timer = null;
          try {
            const src = sourceOf === undefined ? '' : sourceOf(record);
            if (sourceOf !== undefined) lastSeen.set(src, scheduler.now());
            const result = state.add(record, src);
            markIdleSources();
            if (result === 'late') {
              subscriber.next({ kind: 'late', record, watermark: state.watermark });
            } else {
              emit((at) => state.close(at));
            }
          } catch (err) {
            subscriber.error(err);
            return;
          }
          if (idleMs !== Infinity && !subscriber.closed) timer = scheduler.schedule(onIdle, idleMs);
        },
        error: (err) => {
          timer?.unsubscribe();
          subscriber.error(err);
        },
        complete: () => {
          timer?.unsubscribe();
          try {
            emit((at) => state.flush(at));
          } catch (err) {
            subscriber.error(err);
            return;
          }
          subscriber.complete();
        },
      });
      return () => {
        timer?.unsubscribe();
        subscription.unsubscribe();
      };
    });
}

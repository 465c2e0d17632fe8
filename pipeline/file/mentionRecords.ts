/**
 * Entity trends from NDJSON mention records, as `mentionflow run` prints them
 * (one PostMentions JSON object per line): what `mentionflow trends` runs in
 * its embedded mode, for the library too.
 */
import { connect, defer, filter, from, map, merge, type Observable, type ObservableInput } from 'rxjs';
import { windowTrends, type TrendEvent, type WindowTrendsOptions } from '../../operators/windowTrends.js';
import type { TrendInput, TrendMention } from '../../operators/trends/trendState.js';

/** A line that is not a mention record: its number (1-based) and why. Reported, never dropped silently. */
export interface InvalidLine {
  kind: 'invalid';
  line: number;
  reason: string;
}

type Parsed = { kind: 'ok'; value: TrendInput } | InvalidLine | { kind: 'blank' };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * One NDJSON line as a mention record: `post_id` (string), `created_at`
 * (epoch ms), `mentions` (objects with `text`, `label`, `type`, `kind`,
 * `start_utf16`, `end_utf16`), `author_id` where present; other fields are
 * ignored. Throws an Error saying what is missing.
 */
export function mentionRecordFromJson(line: string): TrendInput {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    throw new Error(`not JSON (${(err as Error).message})`);
  }
  if (!isObject(v)) throw new Error('not a JSON object');
  if (typeof v.post_id !== 'string') throw new Error('post_id: expected a string');
  if (typeof v.created_at !== 'number' || !Number.isFinite(v.created_at)) throw new Error('created_at: expected epoch milliseconds (a number)');
  if (!Array.isArray(v.mentions)) throw new Error('mentions: expected an array');
  const mentions = v.mentions.map((m: unknown, i): TrendMention => {
    if (!isObject(m) || typeof m.text !== 'string') throw new Error(`mentions[${i}].text: expected a string`);
    const str = (k: string) => (typeof m[k] === 'string' ? (m[k] as string) : '');
    const int = (k: string) => (Number.isInteger(m[k]) ? (m[k] as number) : 0);
    if (str('label') === '' && (str('type') === '' || str('kind') === '')) throw new Error(`mentions[${i}]: expected a label (or type and kind)`);
    return { text: m.text, label: str('label'), type: str('type'), kind: str('kind'), start_utf16: int('start_utf16'), end_utf16: int('end_utf16') };
  });
  return { post_id: v.post_id, created_at: v.created_at, mentions, author_id: typeof v.author_id === 'string' ? v.author_id : null };
}

/**
 * Trends of NDJSON lines of mention records: each closed window's
 * EntityTrend and each late record (windowTrends), and each line that is not
 * a mention record (`invalid`, with its number); blank lines are skipped.
 */
export function entityTrends(lines: ObservableInput<string>, opts: WindowTrendsOptions): Observable<TrendEvent | InvalidLine> {
  const trends = windowTrends<TrendInput>(opts); // options checked here, at construction
  return defer(() => {
    let n = 0; // line numbers, per subscription
    const parse = (line: string): Parsed => {
      n++;
      if (line.trim() === '') return { kind: 'blank' };
      try {
        return { kind: 'ok', value: mentionRecordFromJson(line) };
      } catch (err) {
        return { kind: 'invalid', line: n, reason: (err as Error).message };
      }
    };
    return from(lines).pipe(map(parse));
  }).pipe(
    connect((parsed) =>
      merge(
        parsed.pipe(filter((p): p is InvalidLine => p.kind === 'invalid')),
        parsed.pipe(
          filter((p): p is { kind: 'ok'; value: TrendInput } => p.kind === 'ok'),
          map((p) => p.value),
          trends,
        ),
      ),
    ),
  );
}

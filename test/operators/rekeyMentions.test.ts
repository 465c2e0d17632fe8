// rekeyMentions / entityMentions: one record per post and entity, keyed by the entity, one counts_post per post; on virtual time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { map } from 'rxjs';
import { continuationRef, rekeyMentions } from '../../operators/rekeyMentions.js';
import { entityMentions, trendInputOf } from '../../operators/trends/rekey.js';
import { trendKey } from '../../operators/trends/trendState.js';
import { decodeStrict, encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { DeadLetter, EntityMention, Mention, PostMentions } from '../../schemas/types.generated.js';
import type { OutputMessage, RawRecord } from '../../operators/types.js';
import { newScheduler } from './helpers.js';

const SOURCE = { topic: 'mentions', partition: 2, offset: 41 };

function mention(text: string, label: string, start: number): Mention {
  const [type, kind] = label.split('.') as [string, string | undefined];
  return { text, label, type: type as Mention['type'], kind: (kind ?? 'UNKNOWN') as Mention['kind'], start, end: start + text.length, start_utf16: start, end_utf16: start + text.length, confidence: 0.9 };
}

function record(id: string, t: number, mentions: Mention[]): PostMentions {
  return { post_id: id, created_at: t, origin: null, mentions, model: { id: 'm', version: '1' }, processed_at: t + 5, latency_ms: null } as unknown as PostMentions;
}

function raw(r: PostMentions | null, offset: number): RawRecord {
  return { ref: { topic: 'mentions', partition: 1, offset: String(offset), receivedAt: 0, epoch: 3 }, key: Buffer.from(r?.post_id ?? 'x'), value: r === null ? Buffer.from([1, 2, 3]) : encodeStrict(loadSchema('mentions'), r) };
}

/** An output message as one line: "KEY spans counts_post ref-offset" (P: counts_post; cont: the continuation ref) or "deadletter ref-offset stage". */
function show(m: OutputMessage): string {
  if (m.output === 'deadletter') return `deadletter ${m.ref.offset} ${decodeStrict<DeadLetter>(loadSchema('deadletter'), m.value).stage}`;
  const e = decodeStrict<EntityMention>(loadSchema('repartition'), m.value);
  if (e.kind === 'PROGRESS') return `M${m.partition}:${e.source_partition}@${e.created_at}/${e.source_offset} ${m.ref.offset === '9223372036854775807' ? 'cont' : m.ref.offset}`;
  return `${m.key!.toString().replace('\u0001', '|')} ${e.spans.map((s) => `${s.surface}@${s.start_utf16}`).join(',')} ${e.counts_post ? 'P' : '-'} ${m.ref.offset === '9223372036854775807' ? 'cont' : m.ref.offset}`;
}

describe('entityMentions', () => {
  it('one record per entity key, spans of a key together, counts_post on the first only', () => {
    const out = entityMentions(record('p1', 1000, [mention('北京', 'GPE.NAM', 0), mention('ＩＢＭ', 'ORG.NAM', 3), mention('北京', 'GPE.NAM', 9), mention('北京', 'GPE.NOM', 12)]), SOURCE);
    assert.deepEqual(
      out.map((e) => [e.key, e.value.label, e.value.spans.map((s) => s.start_utf16), e.value.counts_post]),
      [
        [`北京\u0001GPE.NAM`, 'GPE.NAM', [0, 9], true],
        [`ibm\u0001ORG.NAM`, 'ORG.NAM', [3], false],
        [`北京\u0001GPE.NOM`, 'GPE.NOM', [12], false],
      ],
    );
    for (const e of out) {
      assert.equal(e.key, trendKey({ text: e.value.spans[0]!.surface, label: e.value.label, type: '', kind: '' }));
      assert.deepEqual([e.value.source_topic, e.value.source_partition, e.value.source_offset, e.value.post_id, e.value.created_at], ['mentions', 2, 41, 'p1', 1000]);
    }
  });

  it('a post without mentions: one record keyed by its post id, no spans, counts_post', () => {
    const out = entityMentions(record('p2', 5, []), SOURCE);
    assert.deepEqual(out.map((e) => [e.key, e.value.label, e.value.spans.length, e.value.counts_post]), [['p2', '', 0, true]]);
  });

  it('a mentions v1 record (label ""): the label is TYPE.KIND', () => {
    const [e] = entityMentions(record('p3', 5, [{ ...mention('上海', 'GPE.NAM', 0), label: '' }]), SOURCE);
    assert.equal(e!.value.label, 'GPE.NAM');
    assert.equal(e!.key, '上海\u0001GPE.NAM');
  });

  it('trendInputOf: the spans as mentions of the label, countsRecord from counts_post', () => {
    const [a, b] = entityMentions(record('p1', 7, [mention('北京', 'GPE.NAM', 0), mention('王芳', 'PER.NAM', 4)]), SOURCE);
    const x = trendInputOf(a!.value);
    assert.deepEqual([x.post_id, x.created_at, x.countsRecord, x.mentions.map((m) => trendKey(m))], ['p1', 7, true, ['北京\u0001GPE.NAM']]);
    assert.equal(trendInputOf(b!.value).countsRecord, false);
  });
});

describe('rekeyMentions', () => {
  const op = () => (src: import('rxjs').Observable<RawRecord>) => src.pipe(rekeyMentions({ now: () => 0 }), map((ms) => ms.map(show).join('; ')));

  it('never: emits nothing; empty: completes', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<RawRecord>('-').pipe(op())).toBe('-');
      expectObservable(cold<RawRecord>('|').pipe(op())).toBe('|');
    });
  });

  it('per record its entity messages; only the last carries the record ref (the others a continuation ref); a bad record is a dead letter', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const a = raw(record('p1', 10, [mention('北京', 'GPE.NAM', 0), mention('王芳', 'PER.NAM', 3)]), 7);
      const b = raw(record('p2', 11, []), 8);
      const bad = raw(null, 9);
      expectObservable(cold('-a-b-c-|', { a, b, c: bad }).pipe(op())).toBe('-x-y-z-|', {
        x: '北京|GPE.NAM 北京@0 P cont; 王芳|PER.NAM 王芳@3 - 7',
        y: 'p2  P 8',
        z: 'deadletter 9 decode',
      });
    });
  });

  it('error passes through; early unsubscribe unsubscribes the source', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold<RawRecord>('-a-#', { a: raw(record('p1', 1, []), 1) });
      expectObservable(src.pipe(op())).toBe('-x-#', { x: 'p1  P 1' });
      const endless = cold<RawRecord>('-a--', { a: raw(record('p1', 1, []), 1) });
      expectObservable(endless.pipe(op()), '^--!').toBe('-x-', { x: 'p1  P 1' });
      expectSubscriptions(endless.subscriptions).toBe('^--!');
    });
  });

  it('progress markers: due on the Nth record of a source with new event time (after its entities, the last carrying the ref), else by the timer after the interval (continuation ref); none without new event time', () => {
    const sched = newScheduler();
    sched.run(({ cold, expectObservable }) => {
      const at = (id: string, t: number, offset: number, partition = 1): RawRecord => ({ ...raw(record(id, t, []), offset), ref: { ...raw(record(id, t, []), offset).ref, partition } });
      const recs = { a: at('a', 100, 1), b: at('b', 90, 2), c: at('c', 105, 3), d: at('d', 106, 4) };
      const src = cold<RawRecord>('-a-b-c-d 40ms |', recs);
      const marked = src.pipe(rekeyMentions({ now: () => 0, partitions: 2, markerIntervalMs: 10, markerEveryRecords: 3, scheduler: sched }), map((ms) => ms.map(show).join('; ')));
      expectObservable(marked).toBe('-a-b-c-d 12ms m 27ms |', {
        a: 'a  P 1',
        b: 'b  P 2',
        // the third record of source 1: its markers follow its message; the last one carries its ref
        c: 'c  P cont; M0:1@105/3 cont; M1:1@105/3 3',
        d: 'd  P 4',
        // 106 unmarked: not at 10 (5 ms after the last marker), at 20 by the timer; nothing new at 30, 40
        m: 'M0:1@106/4 cont; M1:1@106/4 cont',
      });
    });
  });

  it('progress markers per source; a record older than the source\'s marked time adds none; the end of input marks what is left', () => {
    const sched = newScheduler();
    sched.run(({ cold, expectObservable }) => {
      const at = (id: string, t: number, offset: number, partition: number): RawRecord => ({ ...raw(record(id, t, []), offset), ref: { ...raw(record(id, t, []), offset).ref, partition } });
      const src = cold<RawRecord>('a 14ms bc 5ms d|', { a: at('a', 100, 1, 0), b: at('b', 50, 2, 0), c: at('c', 200, 7, 2), d: at('d', 300, 8, 2) });
      const marked = src.pipe(rekeyMentions({ now: () => 0, partitions: 3, markerIntervalMs: 10, markerEveryRecords: 1000, scheduler: sched }), map((ms) => ms.map(show).join('; ')));
      expectObservable(marked).toBe('a 9ms m 4ms bc 5ms d(z|)', {
        a: 'a  P 1',
        m: 'M0:0@100/1 cont; M1:0@100/1 cont; M2:0@100/1 cont',
        b: 'b  P 2',
        c: 'c  P 7',
        // at 20: source 0 has nothing new (50 < 100), source 2 was first seen at 16 (4 ms): nothing; d at 22 (6 ms): not due
        d: 'd  P 8',
        // the end of input: source 2's 300 is marked at once
        z: 'M0:2@300/8 cont; M1:2@300/8 cont; M2:2@300/8 cont',
      });
    });
  });

  it('rejects bad marker options at construction', () => {
    assert.throws(() => rekeyMentions({ partitions: 0 }), /partitions must be an integer >= 1/);
    assert.throws(() => rekeyMentions({ partitions: 2, markerIntervalMs: 0 }), /markerIntervalMs/);
    assert.throws(() => rekeyMentions({ partitions: 2, markerEveryRecords: 1.5 }), /markerEveryRecords/);
  });

  it('continuationRef keeps topic, partition and epoch, with an offset no record has', () => {
    const r = raw(record('p', 1, []), 5).ref;
    assert.deepEqual(continuationRef(r), { ...r, offset: '9223372036854775807' });
  });
});

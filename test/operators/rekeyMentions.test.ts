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

  it('continuationRef keeps topic, partition and epoch, with an offset no record has', () => {
    const r = raw(record('p', 1, []), 5).ref;
    assert.deepEqual(continuationRef(r), { ...r, offset: '9223372036854775807' });
  });
});

/**
 * ArchiveRoller (the file side of the archive sink) without Kafka: rolling by
 * size and age, the layout's names, and the crash cases a broker test hits
 * only by luck: a kill after files were renamed but before the offsets were
 * committed (the records come again and must be skipped, whatever the new
 * roll points), and a kill with files still open (their temporary files are
 * removed and the records written again).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../common/errors.js';
import { ArchiveRoller } from '../../pipeline/file/archiveRoller.js';
import { archiveFileName, listArchive, parseArchiveFileName } from '../../pipeline/file/archiveLayout.js';
import { readContainer } from '../../schemas/container.js';
import { decodeStrict, encodeStrict, loadSchema, loadSchemaJson } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';

const root = mkdtempSync(join(tmpdir(), 'roller-'));
after(() => rmSync(root, { recursive: true, force: true }));
const type = loadSchema('post');
const HOUR = 3_600_000;
const BASE = Date.UTC(2024, 4, 1, 8);

/** Record `offset` of partition p: an event hour out of three, interleaved. */
function rec(p: number, offset: number): { value: Buffer; time: number } {
  const time = BASE + ((offset * 7) % 3) * HOUR + offset;
  const post = { id: `p${p}-${offset}`, text: `第${offset}条`, author_id: 'a', created_at: time, source: 'weibo', lang: null, reply_to: null, attributes: {}, topic_tags: [], geo: null };
  return { value: encodeStrict(type, post), time };
}

function roller(dir: string, opts: { maxBytes?: number; now?: () => number; codec?: 'null' | 'deflate' | 'snappy' } = {}): ArchiveRoller {
  return new ArchiveRoller({ dir, topic: 'posts', schema: loadSchemaJson('post'), blockBytes: 512, ...opts });
}

async function feed(r: ArchiveRoller, p: number, from: number, to: number, flushEvery = 0): Promise<number | undefined> {
  await r.prepare(p);
  let commit: number | undefined;
  for (let o = from; o < to; o++) {
    const { value, time } = rec(p, o);
    await r.append(p, o, time, value);
    if (flushEvery > 0 && (o + 1) % flushEvery === 0) commit = await r.flush(p);
    else if (r.due().includes(p)) commit = await r.flush(p);
  }
  return commit;
}

async function contents(dir: string): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  const { files } = await listArchive(dir, 'posts');
  for (const f of files) {
    for await (const item of readContainer(f.path)) {
      if (item.kind !== 'record') continue;
      const id = decodeStrict<Post>(type, item.bytes).id;
      ids.set(id, (ids.get(id) ?? 0) + 1);
    }
  }
  return ids;
}

function exactlyOnce(ids: Map<string, number>, p: number, n: number): void {
  for (let o = 0; o < n; o++) assert.equal(ids.get(`p${p}-${o}`), 1, `p${p}-${o} archived ${ids.get(`p${p}-${o}`) ?? 0} times`);
}

/** Records [from, to) of partition p as appendBatch takes a fetched batch: grouped by event hour, offset order within each. */
function grouped(p: number, from: number, to: number): Parameters<ArchiveRoller['appendBatch']>[1] {
  const hours = new Map<number, Array<{ offset: number; value: Buffer; time: number }>>();
  for (let o = from; o < to; o++) {
    const r = rec(p, o);
    const h = Math.floor(r.time / HOUR);
    hours.set(h, [...(hours.get(h) ?? []), { offset: o, ...r }]);
  }
  const all = [...hours.values()].flat();
  const groupStarts = new Uint32Array(hours.size + 1);
  const groupTimes = new Float64Array(hours.size);
  [...hours.values()].forEach((g, i) => {
    groupStarts[i + 1] = groupStarts[i] + g.length;
    groupTimes[i] = g[0].time;
  });
  const ends = new Uint32Array(all.length);
  all.reduce((at, r, i) => (ends[i] = at + r.value.length), 0);
  return { offsets: Float64Array.from(all, (r) => r.offset), ends, data: Buffer.concat(all.map((r) => r.value)), groupStarts, groupTimes, groups: hours.size };
}

/** Each file's name, and its records' ids with their block numbers, in order. */
async function layout(dir: string): Promise<string[]> {
  const out: string[] = [];
  const { files } = await listArchive(dir, 'posts');
  for (const f of files.sort((a, b) => a.path.localeCompare(b.path))) {
    const ids: string[] = [];
    for await (const item of readContainer(f.path)) if (item.kind === 'record') ids.push(`${decodeStrict<Post>(type, item.bytes).id}@${item.block}`);
    out.push(`${f.path.slice(dir.length)}: ${ids.join(' ')}`);
  }
  return out;
}

describe('ArchiveRoller', () => {
  it('names: topic+partition+first-last, 19 digits, parsed back; temporary names are not archive files', () => {
    const name = archiveFileName('posts', 2, 7, 1234);
    assert.equal(name, 'posts+2+0000000000000000007-0000000000000001234.avro');
    assert.deepEqual(parseArchiveFileName(name), { topic: 'posts', partition: 2, first: 7, last: 1234 });
    assert.equal(parseArchiveFileName('posts+2+0000000000000000007.123.tmp'), undefined);
  });

  it('rolls by size, files by event hour, every record once, commit offset = last + 1', async () => {
    const dir = join(root, 'size');
    const r = roller(dir, { maxBytes: 3500, codec: 'null' }); // the header (the Post schema) is 2,426 bytes of it
    const commit = await feed(r, 0, 0, 300);
    const last = await r.flush(0);
    assert.equal(last, 300);
    assert.ok(commit !== undefined && commit < 300, 'some size rolls happened before the end');
    const { files, temporary } = await listArchive(dir, 'posts');
    assert.ok(files.length > 6, `expected many files, got ${files.length}`);
    assert.deepEqual(temporary, []);
    assert.deepEqual(new Set(files.map((f) => f.hour)), new Set(['08', '09', '10']));
    exactlyOnce(await contents(dir), 0, 300);
  });

  it('codec snappy: the files say so in their header and hold every record once', async () => {
    const dir = join(root, 'snappy');
    const r = roller(dir, { maxBytes: 6000, codec: 'snappy' });
    await feed(r, 0, 0, 300);
    assert.equal(await r.flush(0), 300);
    const { files } = await listArchive(dir, 'posts');
    assert.ok(files.length > 1, `expected several files, got ${files.length}`);
    for (const f of files) {
      for await (const item of readContainer(f.path)) {
        if (item.kind === 'header') assert.equal(item.header.codec, 'snappy');
        break;
      }
    }
    exactlyOnce(await contents(dir), 0, 300);
  });

  it('rolls by age', async () => {
    let now = 0;
    const r = roller(join(root, 'age'), { now: () => now });
    await feed(r, 1, 0, 5);
    assert.deepEqual(r.due(), []);
    now = 10 * 60 * 1000;
    assert.deepEqual(r.due(), [1]);
  });

  it('a crash after the renames but before the commit: the records come again, with other roll points, and are skipped', async () => {
    const dir = join(root, 'renamed');
    const first = roller(dir);
    await feed(first, 0, 0, 120);
    assert.equal(await first.flush(0), 120); // renamed; the commit of 120 is "lost"
    // The restarted sink reads again from the last commit (0), rolling every 50 records this time.
    const second = roller(dir);
    await feed(second, 0, 0, 200, 50);
    await second.flush(0);
    exactlyOnce(await contents(dir), 0, 200);
    assert.equal((await contents(dir)).size, 200);
  });

  it('a crash with files open: temporary files are removed and the records written again', async () => {
    const dir = join(root, 'open');
    const first = roller(dir);
    await feed(first, 0, 0, 40);
    await first.flush(0); // committed 40
    await feed(first, 0, 40, 90); // open, never flushed: the process dies here
    const before = await listArchive(dir, 'posts', 0);
    assert.ok(before.staged.length > 0, 'files were open at the crash');
    assert.deepEqual(before.temporary, [], 'temporary files are staged, not in the date= folders');
    const second = roller(dir);
    await feed(second, 0, 40, 90);
    await second.flush(0);
    const afterwards = await listArchive(dir, 'posts', 0);
    assert.deepEqual(afterwards.temporary, []);
    assert.deepEqual(afterwards.staged, [], 'the second roller flushed everything it staged');
    assert.ok(before.staged.every((t) => !existsSync(t)), 'stale temporary files removed');
    exactlyOnce(await contents(dir), 0, 90);
  });

  it('a batch that comes again in the same run (a retried or refetched batch): its records are skipped, open files or not', async () => {
    const dir = join(root, 'again');
    const r = roller(dir);
    await feed(r, 0, 0, 30);
    await r.flush(0);
    await feed(r, 0, 20, 60); // 20..29 are in complete files, 30..59 new
    await feed(r, 0, 45, 70); // 45..59 are in open files, 60..69 new
    assert.equal(await r.flush(0), 70);
    exactlyOnce(await contents(dir), 0, 70);
  });

  it('appendBatch (records grouped by hour) writes the files of append() record by record: same names, records, blocks, skips and commit offsets', async () => {
    // Batches of several sizes, a flush between them, a batch that comes again (in complete and
    // in open files), then a restart that reads everything again with other batch bounds.
    const steps: Array<[number, number] | 'flush' | 'restart'> = [[0, 37], [37, 40], 'flush', [25, 90], [60, 141], [141, 142], 'flush', [142, 230], 'restart', [0, 100], [100, 260], 'flush'];
    const run = async (dir: string, batched: boolean): Promise<{ files: string[]; commits: Array<number | undefined>; appended: number[] }> => {
      let r = roller(dir);
      const commits: Array<number | undefined> = [];
      const appended: number[] = [];
      for (const step of steps) {
        if (step === 'flush') commits.push(await r.flush(0));
        else if (step === 'restart') r = roller(dir);
        else {
          await r.prepare(0);
          if (batched) appended.push(await r.appendBatch(0, grouped(0, step[0], step[1])));
          else {
            let n = 0;
            for (let o = step[0]; o < step[1]; o++) {
              const { value, time } = rec(0, o);
              if ((await r.append(0, o, time, value)) === 'appended') n++;
            }
            appended.push(n);
          }
        }
      }
      return { files: await layout(dir), commits, appended };
    };
    const one = await run(join(root, 'by-record'), false);
    const batched = await run(join(root, 'by-batch'), true);
    assert.deepEqual(batched, one);
    assert.ok(one.files.length >= 6 && one.files.some((f) => f.includes('@3')), 'several files, several blocks each');
    // 25..39 and 60..89 come again and are skipped; 142..229 were in open files at the restart (gone),
    // so after it 0..141 are skipped (complete files) and 142..259 written
    assert.deepEqual(one.appended, [37, 3, 50, 51, 1, 88, 0, 118]);
    exactlyOnce(await contents(join(root, 'by-batch')), 0, 260);
  });

  it('at most maxBlocksInFlight blocks compress or write at once (append waits past that); each file keeps its blocks in order', async () => {
    const dir = join(root, 'inflight');
    const r = new ArchiveRoller({ dir, topic: 'posts', schema: loadSchemaJson('post'), blockBytes: 256, maxBlocksInFlight: 2 });
    await r.prepare(0);
    let most = 0;
    let waits = 0;
    for (let o = 0; o < 400; o++) {
      const { value, time } = rec(0, o);
      const appended = r.append(0, o, time, value);
      most = Math.max(most, r.blocksInFlight());
      if (typeof appended !== 'string') {
        waits++;
        assert.equal(await appended, 'appended');
        assert.ok(r.blocksInFlight() < 2, `${r.blocksInFlight()} blocks in flight after the wait`);
      }
    }
    assert.ok(waits > 0, 'the bound was reached');
    assert.ok(most <= 2, `${most} blocks in flight at once`);
    assert.equal(await r.flush(0), 400);
    assert.equal(r.blocksInFlight(), 0);
    const { files } = await listArchive(dir, 'posts');
    for (const f of files) {
      let previous = -1;
      for await (const item of readContainer(f.path)) {
        if (item.kind !== 'record') continue;
        const offset = Number(decodeStrict<Post>(type, item.bytes).id.split('-')[1]);
        assert.ok(offset > previous, `${f.path}: offset ${offset} after ${previous}`);
        previous = offset;
      }
    }
    exactlyOnce(await contents(dir), 0, 400);
  });

  it('rejects bad options at construction and appends before prepare', () => {
    assert.throws(() => new ArchiveRoller({ dir: root, topic: 'a/b', schema: {} }), ConfigError);
    assert.throws(() => new ArchiveRoller({ dir: root, topic: 'posts', schema: {}, maxBytes: 0 }), ConfigError);
    assert.throws(() => new ArchiveRoller({ dir: root, topic: 'posts', schema: {}, deflateLevel: 0 }), ConfigError);
    assert.throws(() => new ArchiveRoller({ dir: root, topic: 'posts', schema: {}, maxBlocksInFlight: 0 }), ConfigError);
    assert.throws(() => new ArchiveRoller({ dir: root, topic: 'posts', schema: {}, maxBlocksInFlight: 1.5 }), ConfigError);
    assert.throws(() => roller(root).append(5, 0, BASE, Buffer.alloc(1)), ConfigError);
  });
});

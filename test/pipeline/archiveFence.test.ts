/**
 * The fence of the archive sink's renames (pipeline/file/archiveRoller.ts),
 * without Kafka: two rollers on one archive folder play a stalled owner of a
 * partition (epoch 5, the group generation it joined) and the owner the
 * group gave the partition to after the stall (epoch 6). The newer one's
 * prepare() fences the older one's staging folder: the stalled owner's
 * later renames, and opens of new files, fail and are not retried, nothing
 * of the partition is committed by it, while a rename it did before the
 * fence is seen by the new owner, which skips those records. Every record
 * ends up in exactly one file.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../common/errors.js';
import { ArchiveRoller, type ArchiveRollerOptions } from '../../pipeline/file/archiveRoller.js';
import { listArchive, stagingDir } from '../../pipeline/file/archiveLayout.js';
import { readContainer } from '../../schemas/container.js';
import { decodeStrict, encodeStrict, loadSchema, loadSchemaJson } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';

const root = mkdtempSync(join(tmpdir(), 'fence-'));
after(() => rmSync(root, { recursive: true, force: true }));
const type = loadSchema('post');
const HOUR = 3_600_000;
const BASE = Date.UTC(2024, 4, 1, 8);

type Fence = Parameters<NonNullable<ArchiveRollerOptions['onFenced']>>[0];

/** Record `offset` of partition 0, in one of `hours` event hours (interleaved). */
function rec(offset: number, hours = 3): { value: Buffer; time: number } {
  const time = BASE + ((offset * 7) % hours) * HOUR + offset;
  const post = { id: `p0-${offset}`, text: `第${offset}条`, author_id: 'a', created_at: time, source: 'weibo', lang: null, reply_to: null, attributes: {}, topic_tags: [], geo: null };
  return { value: encodeStrict(type, post), time };
}

function roller(dir: string, fences: Fence[]): ArchiveRoller {
  return new ArchiveRoller({ dir, topic: 'posts', schema: loadSchemaJson('post'), blockBytes: 512, onFenced: (f) => fences.push(f) });
}

async function feed(r: ArchiveRoller, from: number, to: number, hours = 3): Promise<void> {
  for (let o = from; o < to; o++) {
    const { value, time } = rec(o, hours);
    await r.append(0, o, time, value);
  }
}

/** Each record id of the archive, with the number of files holding it; and the file ranges of each hour. */
async function archive(dir: string): Promise<{ ids: Map<string, number>; ranges: Map<string, Array<[number, number]>> }> {
  const ids = new Map<string, number>();
  const ranges = new Map<string, Array<[number, number]>>();
  const { files } = await listArchive(dir, 'posts');
  for (const f of files) {
    ranges.set(`${f.date}/${f.hour}`, [...(ranges.get(`${f.date}/${f.hour}`) ?? []), [f.first, f.last]]);
    for await (const item of readContainer(f.path)) {
      if (item.kind !== 'record') continue;
      const id = decodeStrict<Post>(type, item.bytes).id;
      ids.set(id, (ids.get(id) ?? 0) + 1);
    }
  }
  return { ids, ranges };
}

async function exactlyOnce(dir: string, n: number): Promise<void> {
  const { ids, ranges } = await archive(dir);
  for (let o = 0; o < n; o++) assert.equal(ids.get(`p0-${o}`), 1, `p0-${o} archived ${ids.get(`p0-${o}`) ?? 0} times`);
  assert.equal(ids.size, n);
  for (const [hour, list] of ranges) {
    list.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < list.length; i++) assert.ok(list[i][0] > list[i - 1][1], `overlapping files in ${hour}: ${JSON.stringify(list)}`);
  }
}

describe('ArchiveRoller fence', () => {
  it('a rename after the fence: fenced, not renamed, no offset to commit, nothing appended after it', async () => {
    const dir = join(root, 'rename');
    const aFences: Fence[] = [];
    const bFences: Fence[] = [];
    const a = roller(dir, aFences);
    const b = roller(dir, bFences);
    assert.equal(await a.prepare(0, 5), 'owned');
    await feed(a, 0, 60); // open files, then the stall: the group gives the partition to b
    assert.ok(a.openFiles() > 0);
    const staged = (await listArchive(dir, 'posts', 0)).staged;
    assert.ok(staged.length > 0, 'a writes in its staging folder');
    assert.equal(await b.prepare(0, 6), 'owned');
    assert.ok(staged.every((t) => !existsSync(t)), "b's prepare moved a's staging folder away");
    // a wakes up and rolls its files: every rename fails, a keeps nothing and commits nothing
    assert.equal(await a.flush(0), undefined);
    assert.equal(a.fenced(0), true);
    assert.equal(a.openFiles(), 0);
    assert.deepEqual(aFences.map((f) => ({ ...f, records: f.records > 0 })), [{ partition: 0, epoch: 5, files: 3, records: true, when: 'rename' }]);
    assert.equal(aFences[0].records, 60);
    assert.equal((await listArchive(dir, 'posts', 0)).files.length, 0, 'no file of a was renamed');
    assert.equal(a.append(0, 60, rec(60).time, rec(60).value), 'skipped', 'a fenced partition takes no more records');
    assert.equal(a.openFiles(), 0);
    assert.equal(await a.flush(0), undefined);
    // b archives from the committed offset (0) on, alone
    await feed(b, 0, 90);
    assert.equal(await b.flush(0), 90);
    assert.deepEqual(bFences, []);
    await exactlyOnce(dir, 90);
    const left = await listArchive(dir, 'posts');
    assert.deepEqual([left.temporary, left.staged], [[], []]);
  });

  it("a rename before the fence is a complete file the new owner's listing sees: those records are skipped", async () => {
    const dir = join(root, 'before');
    const aFences: Fence[] = [];
    const a = roller(dir, aFences);
    const b = roller(dir, []);
    await a.prepare(0, 5);
    await feed(a, 0, 40);
    assert.equal(await a.flush(0), 40); // renamed; its commit did not reach the broker (a stalled right here)
    await feed(a, 40, 70); // open again
    await b.prepare(0, 6);
    assert.equal(await a.flush(0), undefined);
    assert.equal(aFences.length, 1);
    await feed(b, 0, 100); // from the committed offset: 0..39 are in a's files
    assert.equal(await b.flush(0), 100);
    await exactlyOnce(dir, 100);
  });

  it('an open after the fence: fenced too, the folder is not created again', async () => {
    const dir = join(root, 'open');
    const aFences: Fence[] = [];
    const a = roller(dir, aFences);
    const b = roller(dir, []);
    await a.prepare(0, 5);
    await feed(a, 0, 30, 1); // one event hour: one open file
    assert.equal(a.openFiles(), 1);
    await b.prepare(0, 6);
    // a record of another hour needs a new file: its open fails, the partition is fenced
    const { value } = rec(30);
    assert.equal(await a.append(0, 30, BASE + 2 * HOUR, value), 'skipped');
    assert.deepEqual(aFences, [{ partition: 0, epoch: 5, files: 1, records: 30, when: 'open' }]);
    assert.equal(a.openFiles(), 0);
    assert.deepEqual(readdirSync(stagingDir(dir, 'posts', 0)).length, 1, "only b's staging folder is there");
    await feed(b, 0, 50);
    await b.flush(0);
    await exactlyOnce(dir, 50);
  });

  it('an older owner preparing after a newer one gives up (fenced at prepare), leaving the newer one alone', async () => {
    const dir = join(root, 'older');
    const aFences: Fence[] = [];
    const a = roller(dir, aFences);
    const b = roller(dir, []);
    await b.prepare(0, 6);
    await feed(b, 0, 20);
    assert.equal(await a.prepare(0, 5), 'fenced');
    const [bFolder] = readdirSync(stagingDir(dir, 'posts', 0));
    assert.deepEqual(aFences, [{ partition: 0, epoch: 5, files: 0, records: 0, when: 'prepare', newer: join(stagingDir(dir, 'posts', 0), bFolder) }]);
    assert.equal(await a.appendBatch(0, { offsets: Float64Array.of(20), ends: Uint32Array.of(rec(20).value.length), data: rec(20).value, groupStarts: Uint32Array.of(0, 1), groupTimes: Float64Array.of(rec(20).time), groups: 1 }), 0);
    assert.equal(await a.flush(0), undefined);
    await feed(b, 20, 40);
    assert.equal(await b.flush(0), 40, "b's folder was not touched");
    await exactlyOnce(dir, 40);
  });

  it("a newer folder left by an earlier life of the group: refused unless current() says this epoch is the group's current one, then fenced", async () => {
    const dir = join(root, 'foreign');
    const old = roller(dir, []);
    await old.prepare(0, 57);
    await feed(old, 0, 15); // the old group's sink dies here, its staging folder left
    const fences: Fence[] = [];
    const foreign: string[][] = [];
    const r = new ArchiveRoller({ dir, topic: 'posts', schema: loadSchemaJson('post'), blockBytes: 512, onFenced: (f) => fences.push(f), onForeign: (f) => foreign.push(f.folders) });
    let asked = 0;
    assert.equal(await r.prepare(0, 1, async () => (asked++, false)), 'fenced');
    assert.equal(asked, 1);
    assert.equal(fences.length, 1);
    await r.drop(0);
    const [left] = readdirSync(stagingDir(dir, 'posts', 0));
    assert.equal(await r.prepare(0, 2, async () => (asked++, true)), 'owned');
    assert.equal(asked, 2);
    assert.deepEqual(foreign, [[join(stagingDir(dir, 'posts', 0), left)]]);
    assert.equal(await old.flush(0), undefined, "the old folder's files cannot be renamed any more");
    await feed(r, 0, 30);
    assert.equal(await r.flush(0), 30);
    await exactlyOnce(dir, 30);
    // current() is asked only when a newer folder is there
    await r.drop(0);
    assert.equal(await r.prepare(0, 3, async () => (asked++, false)), 'owned');
    assert.equal(asked, 2);
  });

  it('drop clears the fence and removes the staging folder; a later assignment prepares again', async () => {
    const dir = join(root, 'drop');
    const a = roller(dir, []);
    const b = roller(dir, []);
    await a.prepare(0, 5);
    await feed(a, 0, 10);
    await b.prepare(0, 6);
    await feed(b, 0, 10);
    assert.equal(await b.flush(0), 10);
    await b.drop(0);
    assert.equal(await a.flush(0), undefined);
    await a.drop(0);
    assert.equal(a.fenced(0), false);
    assert.deepEqual(readdirSync(stagingDir(dir, 'posts', 0)), [], 'no staging folder left');
    assert.equal(await a.prepare(0, 7), 'owned');
    await feed(a, 10, 20);
    assert.equal(await a.flush(0), 20);
    await a.drop(0);
    await exactlyOnce(dir, 20);
  });

  it('two owners preparing at once (20 rounds, both orders): the older never renames, the newer always does', async () => {
    for (let round = 0; round < 20; round++) {
      const dir = join(root, `race-${round}`);
      const a = roller(dir, []);
      const b = roller(dir, []);
      const prepared = round % 2 === 0 ? await Promise.all([a.prepare(0, 5), b.prepare(0, 6)]) : (await Promise.all([b.prepare(0, 6), a.prepare(0, 5)])).reverse();
      assert.equal(prepared[1], 'owned', `round ${round}: the newer one owns the partition`);
      await feed(a, 0, 20);
      assert.equal(await a.flush(0), undefined, `round ${round}: the older one renamed nothing (prepare said ${prepared[0]})`);
      await feed(b, 0, 20);
      assert.equal(await b.flush(0), 20);
      await exactlyOnce(dir, 20);
    }
  });

  it('rejects an epoch that is not an integer >= 0', async () => {
    const r = roller(join(root, 'epoch'), []);
    await assert.rejects(r.prepare(0, -1), ConfigError);
    await assert.rejects(r.prepare(0, 1.5), ConfigError);
  });
});

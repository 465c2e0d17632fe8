/**
 * schemas/container.ts, the one Avro object container reader (and the raw
 * block writer the archive sink uses), and its three other callers: the
 * embedded file mode (readPostsFile of pipeline/file), `produce`'s loader and
 * the training sources. A truncated or corrupt block is an error naming the
 * file and the byte offset, in every caller; never a silent drop (avsc's
 * own decoder returns the records before a truncated last block and stops).
 */
import assert from 'node:assert/strict';
import avro from 'avsc';
import { randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, DecodeError } from '../../common/errors.js';
import { readPostsFile as producePosts } from '../../cli/commands/produce.js';
import { readPostsFile as filePosts } from '../../pipeline/file/fileSource.js';
import { ContainerEncoder, DEFLATE_STRATEGIES, readContainer } from '../../schemas/container.js';
import { deflateBlock, isalStatus } from '../../schemas/deflate.js';
import { nativeAddonStatus } from '../../schemas/nativeAddon.js';
import { decodeStrict, encodeStrict, loadSchema, loadSchemaJson } from '../../schemas/registry.js';
import type { Post } from '../../schemas/types.generated.js';

const dir = mkdtempSync(path.join(tmpdir(), 'container-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const postType = loadSchema('post');

function post(i: number): Post {
  return { id: `p${i}`, text: `第${i}条微博，北京`, author_id: `a${i % 7}`, created_at: 1_700_000_000_000 + i, source: 'weibo', lang: null, reply_to: null, attributes: {}, geo: null, topic_tags: [] } as unknown as Post;
}

/** A container of `n` posts in blocks of `perBlock`, with each block's byte offset. */
function container(name: string, n: number, perBlock: number, codec: 'null' | 'deflate'): { file: string; bytes: Buffer; blockOffsets: number[] } {
  const enc = new ContainerEncoder({ schema: loadSchemaJson('post'), codec });
  const parts = [enc.header()];
  const blockOffsets: number[] = [];
  let at = parts[0].length;
  for (let i = 0; i < n; i += perBlock) {
    const records = [];
    for (let j = i; j < Math.min(n, i + perBlock); j++) records.push(encodeStrict(postType, post(j)));
    const block = enc.block(records);
    blockOffsets.push(at);
    at += block.length;
    parts.push(block);
  }
  const bytes = Buffer.concat(parts);
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return { file, bytes, blockOffsets };
}

async function all(file: string): Promise<Array<{ index: number; block: number; blockOffset: number; post: Post }>> {
  const out = [];
  for await (const item of readContainer(file, 97)) {
    if (item.kind === 'record') out.push({ index: item.index, block: item.block, blockOffset: item.blockOffset, post: decodeStrict<Post>(postType, item.bytes) });
  }
  return out;
}

async function failure(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected an error, the read succeeded');
}

describe('readContainer + ContainerEncoder', () => {
  for (const codec of ['null', 'deflate'] as const) {
    it(`round trip (${codec}): every record, in order, with its block and the block's byte offset`, async () => {
      const { file, blockOffsets } = container(`rt-${codec}.avro`, 250, 40, codec);
      const read = await all(file);
      assert.equal(read.length, 250);
      assert.deepEqual(read.map((r) => r.post.id), Array.from({ length: 250 }, (_, i) => `p${i}`));
      assert.deepEqual([...new Set(read.map((r) => r.blockOffset))], blockOffsets);
      assert.equal(read[249].block, 7);
    });
  }

  it('deflate levels 1 and 9 read back the same records (level 1 larger on this data); a level outside 1..9 is a ConfigError', async () => {
    const records = Array.from({ length: 400 }, (_, i) => encodeStrict(postType, post(i)));
    const sizes: number[] = [];
    for (const level of [1, 9]) {
      const enc = new ContainerEncoder({ schema: loadSchemaJson('post'), codec: 'deflate', level });
      const block = await enc.rawBlockAsync(Buffer.concat(records), records.length);
      sizes.push(block.length);
      const file = path.join(dir, `level-${level}.avro`);
      writeFileSync(file, Buffer.concat([enc.header(), block]));
      assert.deepEqual((await all(file)).map((r) => r.post.id), Array.from({ length: 400 }, (_, i) => `p${i}`));
    }
    assert.ok(sizes[0] > sizes[1], `level 1 block ${sizes[0]} bytes, level 9 ${sizes[1]}`);
    for (const level of [0, 10, 1.5]) assert.throws(() => new ContainerEncoder({ schema: loadSchemaJson('post'), level }), ConfigError);
  });

  it('each deflate strategy (default, huffman, rle) reads back the same records through readContainer and avsc; each writes other bytes; an unknown one is a ConfigError', async () => {
    const records = Array.from({ length: 400 }, (_, i) => encodeStrict(postType, post(i)));
    const expected = Array.from({ length: 400 }, (_, i) => `p${i}`);
    const blocks = new Map<string, Buffer>();
    for (const strategy of DEFLATE_STRATEGIES) {
      const enc = new ContainerEncoder({ schema: loadSchemaJson('post'), codec: 'deflate', level: 1, strategy });
      // the sink's path (libuv's pool) and the synchronous one
      const block = await enc.rawBlockAsync(Buffer.concat(records.slice(0, 200)), 200);
      blocks.set(strategy, block);
      const file = path.join(dir, `strategy-${strategy}.avro`);
      writeFileSync(file, Buffer.concat([enc.header(), block, enc.block(records.slice(200))]));
      assert.deepEqual((await all(file)).map((r) => r.post.id), expected, `readContainer, ${strategy}`);
      const viaAvsc: Post[] = [];
      await new Promise<void>((resolve, reject) => {
        avro
          .createFileDecoder(file)
          .on('data', (p: Post) => viaAvsc.push(p))
          .on('end', resolve)
          .on('error', reject);
      });
      assert.deepEqual(viaAvsc.map((p) => p.id), expected, `avsc's file decoder, ${strategy}`);
      assert.equal(viaAvsc[7].text, post(7).text);
    }
    const size = (s: string) => (blocks.get(s) as Buffer).length;
    // Huffman codes alone cannot use the repeats of these records: larger than with matches.
    assert.ok(size('huffman') > size('default'), `huffman ${size('huffman')} bytes, default ${size('default')}`);
    assert.notDeepEqual(blocks.get('rle'), blocks.get('default'));
    assert.throws(() => new ContainerEncoder({ schema: loadSchemaJson('post'), strategy: 'fast' as never }), ConfigError);
  });

  const addon = nativeAddonStatus();
  const isal = isalStatus();
  /** The addon's engines, each with why it is skipped here (false: it runs). */
  const nativeEngines = [
    { engine: 'isal' as const, skip: isal.available ? (false as const) : `ISA-L: ${isal.reason ?? ''}: bash deploy/native/build-native-addon.sh (libisal-dev)`, levels: [0, 3], badLevels: [-1, 4, 1.5], levelRange: /level must be an integer from 0 to 3/ },
    { engine: 'libdeflate' as const, skip: addon.available ? (false as const) : `the addon ${addon.reason ?? ''}: bash deploy/native/build-native-addon.sh`, levels: [1, 12], badLevels: [0, 13, 1.5], levelRange: /level must be an integer from 1 to 12/ },
  ];

  it('engine auto is the fastest engine this process has: isal, then libdeflate, then zlib; huffman, rle and the pool stay on zlib; an engine it lacks, or with a strategy, is a ConfigError', () => {
    const engineOf = (o: object) => new ContainerEncoder({ schema: loadSchemaJson('post'), ...o }).deflateEngine;
    assert.equal(engineOf({}), isal.available ? 'isal' : addon.available ? 'libdeflate' : 'zlib');
    assert.equal(engineOf({ strategy: 'huffman' }), 'zlib');
    assert.equal(engineOf({ strategy: 'rle' }), 'zlib');
    assert.equal(engineOf({ deflateThread: 'pool' }), 'zlib');
    assert.equal(engineOf({ codec: 'null' }), undefined);
    for (const engine of ['isal', 'libdeflate']) {
      assert.throws(() => engineOf({ engine, strategy: 'huffman' }), /no strategies/);
      assert.throws(() => engineOf({ engine, deflateThread: 'pool' }), /libuv's pool/);
    }
    assert.throws(() => engineOf({ engine: 'fast' }), ConfigError);
    if (!isal.available) assert.throws(() => engineOf({ engine: 'isal' }), (err: Error) => err instanceof ConfigError && err.message.includes(isal.reason ?? ''));
  });

  for (const { engine, skip } of nativeEngines) {
    it(`${engine} (the addon): the worker and the synchronous block() write the same bytes, other than zlib's, and the same records read back through readContainer and avsc; the level reaches it`, { skip }, async () => {
      const records = Array.from({ length: 300 }, (_, i) => encodeStrict(postType, post(i)));
      const raw = Buffer.concat(records);
      const expected = Array.from({ length: 300 }, (_, i) => `p${i}`);
      const data = (block: Buffer) => block.subarray(0, block.length - 16);
      const blocks = new Map<number, Buffer>();
      for (const level of [1, 6, 9]) {
        const enc = new ContainerEncoder({ schema: loadSchemaJson('post'), codec: 'deflate', level, engine });
        assert.equal(enc.deflateEngine, engine);
        const sync = enc.block(records);
        assert.deepEqual(await enc.rawBlockAsync(raw, records.length), sync, `worker, level ${level}`);
        const zlib = new ContainerEncoder({ schema: loadSchemaJson('post'), codec: 'deflate', level, engine: 'zlib' }).block(records);
        assert.notDeepEqual(data(sync), data(zlib), `level ${level}: ${engine} wrote zlib's bytes`);
        blocks.set(level, data(sync));
        const file = path.join(dir, `${engine}-${level}.avro`);
        writeFileSync(file, Buffer.concat([enc.header(), sync, await enc.blockAsync(records.slice(0, 7))]));
        assert.deepEqual((await all(file)).map((r) => r.post.id), [...expected, ...expected.slice(0, 7)], `readContainer, level ${level}`);
        const viaAvsc: Post[] = [];
        await new Promise<void>((resolve, reject) => {
          avro.createFileDecoder(file).on('data', (p: Post) => viaAvsc.push(p)).on('end', resolve).on('error', reject);
        });
        assert.deepEqual(viaAvsc.map((p) => p.id), [...expected, ...expected.slice(0, 7)], `avsc's file decoder, level ${level}`);
      }
      // the level reaches the engine: levels 1 and 9 write other bytes (on these small, repetitive
      // records ISA-L's level 3 is not always the smaller, so bytes, not sizes)
      assert.notDeepEqual(blocks.get(1), blocks.get(9), `${engine} wrote the same bytes at levels 1 and 9`);
    });
  }

  for (const { engine, skip, levels, badLevels, levelRange } of nativeEngines) {
    it(`${engine} through the addon: what zlib inflates back, for empty, tiny, incompressible and 4 MiB inputs and views into larger buffers; bad arguments are TypeErrors; memory stays flat over 600 blocks`, { skip }, () => {
      const params = (level: number) => ({ engine, level, memLevel: 9, strategy: 0 });
      const big = Buffer.alloc(4 << 20);
      for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 27;
      const random = randomBytes(300_000);
      const backing = Buffer.from('xxxxhello, 北京 hello, 北京yyyy');
      const view = new Uint8Array(backing.buffer, backing.byteOffset + 4, backing.length - 8);
      for (const input of [Buffer.alloc(0), Buffer.from('a'), random, big, view]) {
        for (const level of levels) {
          const out = deflateBlock(input, params(level));
          assert.deepEqual(new Uint8Array(inflateRawSync(out)), new Uint8Array(input), `${input.length} bytes, level ${level}`);
        }
      }
      // incompressible input: stored blocks, a little over its size (the output bound holds)
      assert.ok(deflateBlock(random, params(levels[0])).length < random.length + 1000);
      assert.throws(() => deflateBlock('text' as never, params(levels[0])), TypeError);
      assert.throws(() => deflateBlock(new Uint16Array(4) as never, params(levels[0])), TypeError);
      for (const level of badLevels) assert.throws(() => deflateBlock(Buffer.from('a'), params(level)), levelRange);
      // compressors (level buffers) per level and one scratch buffer per thread, reused: 600 blocks of 256 KiB do not grow the heap outside V8
      const block = big.subarray(0, 256 * 1024);
      const level = (i: number) => levels[0] + (i % (levels[1] - levels[0] + 1));
      for (let i = 0; i < 50; i++) deflateBlock(block, params(level(i)));
      const before = process.memoryUsage().rss;
      for (let i = 0; i < 600; i++) deflateBlock(block, params(level(i)));
      global.gc?.();
      const grown = process.memoryUsage().rss - before;
      assert.ok(grown < 64 << 20, `rss grew ${(grown / 2 ** 20).toFixed(1)} MiB over 600 blocks of 256 KiB (150 MiB compressed in all)`);
    });
  }

  it('rawBlockAsync with transfer hands the block\'s ArrayBuffer to the worker (detached after, no copy) and writes the bytes of the copying path; a pooled Buffer is copied whatever', async () => {
    const records = Array.from({ length: 300 }, (_, i) => encodeStrict(postType, post(i)));
    for (const codec of ['deflate', 'snappy'] as const) {
      const enc = new ContainerEncoder({ schema: loadSchemaJson('post'), codec, level: 1 });
      const raw = Buffer.concat(records);
      const owned = Buffer.allocUnsafe(raw.length + 4096);
      raw.copy(owned);
      const view = owned.subarray(0, raw.length);
      const copied = await enc.rawBlockAsync(raw, records.length);
      const handed = await enc.rawBlockAsync(view, records.length, { transfer: true });
      assert.deepEqual(handed, copied, codec);
      assert.equal(owned.buffer.byteLength, 0, `${codec}: the block's ArrayBuffer was transferred`);
      assert.equal(raw.length, Buffer.concat(records).length, `${codec}: without transfer the caller keeps its block`);
      // a Buffer from the shared pool is never transferred (it would detach every Buffer of the pool)
      const small = Buffer.from(records[0]);
      const neighbour = Buffer.from('pool');
      assert.equal(small.buffer, neighbour.buffer, 'both from the pool');
      await enc.rawBlockAsync(small, 1, { transfer: true });
      assert.equal(neighbour.toString(), 'pool');
      assert.equal(small.length, records[0].length);
    }
  });

  it('deflate off the calling thread, on the worker (default) or libuv\'s pool, writes the bytes of the synchronous block() for each level and strategy; a bad deflateThread is a ConfigError', async () => {
    const records = Array.from({ length: 300 }, (_, i) => encodeStrict(postType, post(i)));
    const raw = Buffer.concat(records);
    const seen = new Set<string>();
    for (const level of [1, 6]) {
      for (const strategy of DEFLATE_STRATEGIES) {
        // zlib on every path (libuv's pool has only zlib; isal and libdeflate: the tests above)
        const opts = { schema: loadSchemaJson('post'), codec: 'deflate' as const, level, strategy, engine: 'zlib' as const };
        const enc = new ContainerEncoder(opts);
        const sync = enc.block(records);
        // the same encoder (one sync marker): the blocks must be equal byte for byte
        const viaWorker = await enc.rawBlockAsync(raw, records.length);
        const pool = new ContainerEncoder({ ...opts, deflateThread: 'pool' });
        assert.deepEqual(viaWorker, sync, `worker, level ${level}, ${strategy}`);
        const viaPool = await pool.rawBlockAsync(raw, records.length);
        assert.deepEqual(viaPool.subarray(0, viaPool.length - 16), sync.subarray(0, sync.length - 16), `pool, level ${level}, ${strategy}`);
        seen.add(sync.subarray(0, sync.length - 16).toString('base64'));
      }
    }
    // the level and the strategy reach zlib: each strategy writes other bytes, and so do levels 1 and 6
    // of the default one (huffman and rle ignore the level)
    assert.equal(seen.size, DEFLATE_STRATEGIES.length + 1);
    assert.throws(() => new ContainerEncoder({ schema: loadSchemaJson('post'), deflateThread: 'main' as never }), ConfigError);
  });

  it('a truncated last block is a DecodeError naming the file and the byte offset of the block', async () => {
    const { bytes, blockOffsets } = container('whole.avro', 100, 30, 'deflate');
    for (const cut of [1, 17, 40]) {
      const file = path.join(dir, `cut${cut}.avro`);
      writeFileSync(file, bytes.subarray(0, bytes.length - cut));
      const err = await failure(() => all(file));
      assert.ok(err instanceof DecodeError, String(err));
      assert.ok(err.message.startsWith(`${file}: block 4 (byte ${blockOffsets[3]})`), err.message);
    }
  });

  it('a corrupt record in a null-codec block names the record and its byte offset', async () => {
    const { bytes, blockOffsets } = container('corrupt.avro', 10, 5, 'null');
    const bad = Buffer.from(bytes);
    // The second block's first record starts after the block's count and size (1 byte each here): its id length.
    const at = blockOffsets[1] + 3;
    bad[at] = 0x7f; // a negative string length
    const file = path.join(dir, 'corrupt-bad.avro');
    writeFileSync(file, bad);
    const err = await failure(() => all(file));
    assert.ok(err instanceof DecodeError, String(err));
    assert.match(err.message, new RegExp(`block 2 \\(byte ${blockOffsets[1]}\\), record 6 \\(byte \\d+\\)`));
  });

  it('the file mode (run --input) and produce fail on a truncated container with file and byte, reading nothing silently', async () => {
    const { bytes, blockOffsets } = container('posts.avro', 60, 20, 'deflate');
    const file = path.join(dir, 'posts-cut.avro');
    writeFileSync(file, bytes.subarray(0, bytes.length - 3));
    const fileMode = await failure(async () => {
      for await (const _ of filePosts(file)) void _;
    });
    assert.ok(fileMode instanceof ConfigError, String(fileMode));
    assert.match(fileMode.message, new RegExp(`${file}: block 3 \\(byte ${blockOffsets[2]}\\)`));
    const produce = await failure(() => producePosts(file));
    assert.ok(produce instanceof ConfigError, String(produce));
    assert.match(produce.message, new RegExp(`${file}: block 3 \\(byte ${blockOffsets[2]}\\)`));
    // The whole file reads fully in both.
    const whole = path.join(dir, 'posts.avro');
    let n = 0;
    for await (const _ of filePosts(whole)) n++;
    assert.equal(n, 60);
    assert.equal((await producePosts(whole)).length, 60);
  });
});

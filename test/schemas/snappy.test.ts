/**
 * schemas/snappy.ts (snappy's raw format) and the container's snappy codec:
 * round trips of edge cases, interop with python-snappy and fastavro through
 * the golden files of test/fixtures/snappy (regenerated and cross-checked by
 * its make.py), and damage reported as a DecodeError with its position.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';
import { DecodeError } from '../../common/errors.js';
import { ContainerEncoder, readContainer } from '../../schemas/container.js';
import { decodeStrict, encodeStrict, loadSchema, loadSchemaJson } from '../../schemas/registry.js';
import { maxCompressedLength, snappyCompress, snappyUncompress } from '../../schemas/snappy.js';
import type { Post } from '../../schemas/types.generated.js';

const FIXTURES = path.join(projectRoot(), 'test', 'fixtures', 'snappy');
const dir = mkdtempSync(path.join(tmpdir(), 'snappy-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const postType = loadSchema('post');

/** Deterministic pseudo-random bytes (xorshift32). */
function noise(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function roundTrip(input: Buffer): Buffer {
  const packed = snappyCompress(input);
  assert.ok(packed.length <= maxCompressedLength(input.length), `${packed.length} > bound ${maxCompressedLength(input.length)}`);
  const back = snappyUncompress(packed);
  assert.ok(back.equals(input), `round trip of ${input.length} bytes differs`);
  return packed;
}

describe('snappy raw format', () => {
  it('round trips edge cases: empty, 1 byte, the literal margin, fragment boundaries', () => {
    assert.deepEqual([...snappyCompress(Buffer.alloc(0))], [0]);
    for (const n of [1, 2, 3, 4, 5, 14, 15, 16, 17, 60, 61, 255, 256, 257, 65535, 65536, 65537, 131072, 131073]) {
      roundTrip(noise(n, n));
      roundTrip(Buffer.alloc(n, 0x61));
      roundTrip(Buffer.from('北京天气'.repeat(Math.ceil(n / 12)), 'utf8').subarray(0, n));
    }
  });

  it('incompressible input grows only by the literal headers; long runs shrink to a few percent', () => {
    const random = noise(300_000, 7);
    assert.ok(roundTrip(random).length < random.length + 32);
    const run = Buffer.alloc(300_000, 0x20);
    const packed = roundTrip(run);
    assert.ok(packed.length < run.length / 20, `${packed.length} bytes for a run of ${run.length}`);
  });

  it('repeats farther apart than 64 KiB (no copy can reach them) and copies across many fragments round trip', () => {
    const chunk = noise(70_000, 3);
    roundTrip(Buffer.concat([chunk, chunk, chunk]));
    const text = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `第${i % 97}条，北京${i % 13}`).join(''), 'utf8');
    const packed = roundTrip(text);
    assert.ok(packed.length < text.length / 2, `${packed.length} of ${text.length}`);
  });

  it('decodes every copy form, overlapping copies included (4-byte offsets are read, never written)', () => {
    // "abcd", copy len 8 offset 4 as a 4-byte-offset copy, as a 2-byte one, then a 1-byte-offset overlapping copy of 5 at offset 1.
    const data = Buffer.from([25, 3 << 2, 0x61, 0x62, 0x63, 0x64, 3 | (7 << 2), 4, 0, 0, 0, 2 | (7 << 2), 4, 0, 1 | (1 << 2), 1]);
    assert.equal(snappyUncompress(data).toString('latin1'), 'abcd' + 'abcdabcd' + 'abcdabcd' + 'ddddd');
  });

  it('reads python-snappy output and python-snappy reads ours (golden files of test/fixtures/snappy)', () => {
    for (const name of ['empty', 'one', 'short', 'random', 'run', 'text', 'mixed']) {
      const raw = readFileSync(path.join(FIXTURES, `${name}.raw`));
      const theirs = readFileSync(path.join(FIXTURES, `${name}.snappy`));
      assert.ok(snappyUncompress(theirs).equals(raw), `${name}: python-snappy's output does not decompress to the input`);
      roundTrip(raw);
    }
  });

  it('damage is a DecodeError naming the compressed byte offset, never a wrong output', () => {
    const packed = snappyCompress(Buffer.from('北京天气不错'.repeat(200), 'utf8'));
    assert.throws(() => snappyUncompress(packed.subarray(0, packed.length - 2)), (err: Error) => err instanceof DecodeError && /compressed byte \d+/.test(err.message));
    // A copy reaching before the start of the output.
    assert.throws(() => snappyUncompress(Buffer.from([8, 2 | (7 << 2), 9, 0])), (err: Error) => err instanceof DecodeError && /compressed byte 1: a copy from offset 9 at output byte 0/.test(err.message));
    // A copy with offset 0.
    assert.throws(() => snappyUncompress(Buffer.from([9, 0, 0x61, 1 | (4 << 2), 0])), /offset 0/);
    // More output than declared, less than declared, a declared length over the limit.
    assert.throws(() => snappyUncompress(Buffer.from([1, 4, 0x61, 0x62])), /past the declared length 1/);
    assert.throws(() => snappyUncompress(Buffer.from([5, 0, 0x61])), /1 bytes decoded, 5 declared/);
    assert.throws(() => snappyUncompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), 1024), /over the limit/);
    assert.throws(() => snappyUncompress(Buffer.from([0x80])), /ends inside its length/);
  });
});

describe('container codec snappy', () => {
  const posts = JSON.parse(readFileSync(path.join(FIXTURES, 'posts.json'), 'utf8')) as Post[];

  it('reads the container fastavro wrote with codec snappy: every record, in order', async () => {
    const ids: string[] = [];
    let codec = '';
    for await (const item of readContainer(path.join(FIXTURES, 'posts.avro'), 1000)) {
      if (item.kind === 'header') codec = item.header.codec;
      else {
        const post = decodeStrict<Post>(postType, item.bytes);
        assert.equal(post.text, posts[ids.length].text);
        ids.push(post.id);
      }
    }
    assert.equal(codec, 'snappy');
    assert.deepEqual(ids, posts.map((p) => p.id));
  });

  function write(name: string): { file: string; bytes: Buffer; blockOffsets: number[] } {
    const enc = new ContainerEncoder({ schema: loadSchemaJson('post'), codec: 'snappy' });
    const parts = [enc.header()];
    const blockOffsets: number[] = [];
    let at = parts[0].length;
    for (let i = 0; i < posts.length; i += 70) {
      const block = enc.block(posts.slice(i, i + 70).map((p) => encodeStrict(postType, p)));
      blockOffsets.push(at);
      at += block.length;
      parts.push(block);
    }
    const bytes = Buffer.concat(parts);
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    return { file, bytes, blockOffsets };
  }

  it('round trip: ContainerEncoder with codec snappy, read back by readContainer', async () => {
    const { file } = write('rt.avro');
    const ids = [];
    for await (const item of readContainer(file, 333)) if (item.kind === 'record') ids.push(decodeStrict<Post>(postType, item.bytes).id);
    assert.deepEqual(ids, posts.map((p) => p.id));
    const enc = new ContainerEncoder({ schema: loadSchemaJson('post'), codec: 'snappy' });
    const raw = Buffer.concat(posts.slice(0, 10).map((p) => encodeStrict(postType, p)));
    assert.ok((await enc.rawBlockAsync(raw, 10)).equals(enc.block(posts.slice(0, 10).map((p) => encodeStrict(postType, p)))));
  });

  it('a bad CRC, or a corrupt compressed block, is a DecodeError naming the file, the block and its byte offset', async () => {
    const { bytes, blockOffsets } = write('good.avro');
    // The last 4 bytes before block 2's sync marker are its CRC.
    const crcAt = blockOffsets[2] - 16 - 1;
    const badCrc = Buffer.from(bytes);
    badCrc[crcAt] ^= 0xff;
    const crcFile = path.join(dir, 'bad-crc.avro');
    writeFileSync(crcFile, badCrc);
    await assert.rejects(
      async () => {
        for await (const _ of readContainer(crcFile)) void _;
      },
      (err: Error) => err instanceof DecodeError && err.message.startsWith(`${crcFile}: block 2 (byte ${blockOffsets[1]}): CRC32 mismatch`),
    );
    // Damage inside block 3's compressed data (past its count, size and varint length).
    const badData = Buffer.from(bytes);
    badData[blockOffsets[2] + 8] ^= 0x5a;
    badData[blockOffsets[2] + 9] ^= 0xa5;
    const dataFile = path.join(dir, 'bad-data.avro');
    writeFileSync(dataFile, badData);
    await assert.rejects(
      async () => {
        for await (const _ of readContainer(dataFile)) void _;
      },
      (err: Error) => err instanceof DecodeError && err.message.startsWith(`${dataFile}: block 3 (byte ${blockOffsets[2]})`),
    );
  });
});

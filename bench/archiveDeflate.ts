/**
 * The archive sink's deflate alone, no Kafka, no files: zlib parameters swept on
 * the blocks the sink compresses. The bench's Post records (bench/archivePosts.ts;
 * --text FILE for real text, e.g. the nlpcc2016 Weibo word-seg train split) are
 * laid end to end into blocks of --block-kib (as pipeline/file/archiveRoller.ts
 * fills them), then each configuration compresses every block with node:zlib's
 * deflateRawSync on this thread. Configurations alternate (order rotated) for
 * --repeats rounds in one process; prints per configuration the median and range
 * of the CPU time per record (this process's user + system time: the call is
 * synchronous, so that is the compression's), the compressed bytes per record
 * (block data plus the container's block framing: two varints and the 16-byte
 * sync marker), the size against the first configuration, and the load
 * average. Every block is inflated back and compared (exits 1 on a mismatch).
 *
 * Configurations (--configs, comma-separated; default all below): NAME is
 * `l<level>-m<memLevel>-w<windowBits>-<strategy>[-b<block KiB>]`, e.g.
 * l1-m9-w15-default (the sink's today), l1-m8-w15-default, l1-m9-w13-fixed;
 * strategies default, filtered, fixed, rle, huffman; or `libdeflate-l<level>[-b<block KiB>]`
 * (schemas/deflate.ts's libdeflate addon, where it is built), e.g. libdeflate-l1; or
 * `isal-l<level>[-b<block KiB>]` (ISA-L's igzip through the addon, its own levels 0-3), e.g. isal-l1.
 *
 * Usage: node dist/bench/archiveDeflate.js [--posts 200000] [--repeats 5] [--block-kib 256] [--text FILE] [--configs A,B,...]
 */
import { loadavg } from 'node:os';
import { constants as z, deflateRawSync, inflateRawSync } from 'node:zlib';
import { deflateBlock, isalStatus, type DeflateEngine } from '../schemas/deflate.js';
import { nativeAddonStatus } from '../schemas/nativeAddon.js';
import { benchPost, benchTexts } from './archivePosts.js';
import { benchArgs } from './args.js';
import { median } from './stats.js';

const args = benchArgs(import.meta.url, {
  posts: { type: 'string', default: '200000' },
  repeats: { type: 'string', default: '5' },
  'block-kib': { type: 'string', default: '256' },
  text: { type: 'string' },
  configs: { type: 'string' },
});
const POSTS = Number(args.posts);
const REPEATS = Number(args.repeats);
const BLOCK_KIB = Number(args['block-kib']);
if (!(POSTS > 0) || !(REPEATS >= 1) || !(BLOCK_KIB > 0)) {
  process.stderr.write('--posts, --repeats and --block-kib must be > 0\n');
  process.exit(2);
}

const STRATEGIES: Record<string, number> = { default: z.Z_DEFAULT_STRATEGY, filtered: z.Z_FILTERED, fixed: z.Z_FIXED, rle: z.Z_RLE, huffman: z.Z_HUFFMAN_ONLY };
const DEFAULT_CONFIGS = [
  'l1-m9-w15-default',
  'l1-m8-w15-default',
  'l1-m9-w14-default',
  'l1-m9-w13-default',
  'l1-m9-w12-default',
  'l1-m9-w15-filtered',
  'l1-m9-w15-fixed',
  'l1-m9-w15-rle',
  'l1-m9-w15-huffman',
  'l2-m9-w15-default',
  'l1-m9-w15-default-b64',
  'l1-m9-w15-default-b1024',
  'libdeflate-l1',
  'isal-l1',
  'isal-l3',
];

interface Config {
  name: string;
  engine: DeflateEngine;
  level: number;
  memLevel: number;
  windowBits: number;
  strategy: number;
  blockKib: number;
}
/** Whether the addon's engine deflates in this process, and if not, why. */
const nativeStatus = (engine: 'libdeflate' | 'isal'): { available: boolean; reason?: string } => (engine === 'isal' ? isalStatus() : nativeAddonStatus());
const NATIVE_CONFIG = /^(libdeflate|isal)-l(\d+)(?:-b(\d+))?$/;

function parseConfig(name: string): Config {
  const lib = NATIVE_CONFIG.exec(name);
  if (lib !== null) {
    const engine = lib[1] as 'libdeflate' | 'isal';
    const status = nativeStatus(engine);
    if (!status.available) throw new Error(`${name}: ${status.reason ?? 'missing'} (bash deploy/native/build-native-addon.sh)`);
    return { name, engine, level: Number(lib[2]), memLevel: 9, windowBits: 15, strategy: z.Z_DEFAULT_STRATEGY, blockKib: lib[3] === undefined ? BLOCK_KIB : Number(lib[3]) };
  }
  const m = /^l(\d)-m(\d)-w(\d+)-(\w+?)(?:-b(\d+))?$/.exec(name);
  const strategy = m === null ? undefined : STRATEGIES[m[4]];
  if (m === null || strategy === undefined) throw new Error(`bad config ${JSON.stringify(name)} (e.g. l1-m9-w15-default-b256; strategies ${Object.keys(STRATEGIES).join(', ')})`);
  return { name, engine: 'zlib', level: Number(m[1]), memLevel: Number(m[2]), windowBits: Number(m[3]), strategy, blockKib: m[5] === undefined ? BLOCK_KIB : Number(m[5]) };
}
const configs = (args.configs?.split(',') ?? DEFAULT_CONFIGS.filter((c) => {
  const lib = NATIVE_CONFIG.exec(c);
  return lib === null || nativeStatus(lib[1] as 'libdeflate' | 'isal').available;
})).map((c) => parseConfig(c.trim()));

const texts = benchTexts(args.text);
const records: Buffer[] = [];
let rawBytes = 0;
for (let j = 0; j < POSTS; j++) {
  const v = benchPost(j, texts).value;
  records.push(v);
  rawBytes += v.length;
}

/** The records end to end in blocks of about `kib` KiB (a block closes once it holds that many bytes, as the roller's do). */
function blocksOf(kib: number): Array<{ raw: Buffer; count: number }> {
  const out: Array<{ raw: Buffer; count: number }> = [];
  let pending: Buffer[] = [];
  let bytes = 0;
  for (const r of records) {
    pending.push(r);
    bytes += r.length;
    if (bytes >= kib * 1024) {
      out.push({ raw: Buffer.concat(pending), count: pending.length });
      pending = [];
      bytes = 0;
    }
  }
  if (pending.length > 0) out.push({ raw: Buffer.concat(pending), count: pending.length });
  return out;
}
const blocksByKib = new Map<number, Array<{ raw: Buffer; count: number }>>();
for (const c of configs) if (!blocksByKib.has(c.blockKib)) blocksByKib.set(c.blockKib, blocksOf(c.blockKib));

/** Bytes of a zig-zag varint (the container's block count and size). */
const varintBytes = (n: number): number => {
  let z2 = n * 2;
  let k = 1;
  while (z2 >= 128) {
    z2 = Math.floor(z2 / 128);
    k++;
  }
  return k;
};

const cpuUs = new Map<string, number[]>();
const size = new Map<string, number>();
const load0 = loadavg();
for (let r = 0; r < REPEATS; r++) {
  for (let i = 0; i < configs.length; i++) {
    const c = configs[(i + r) % configs.length];
    const blocks = blocksByKib.get(c.blockKib) ?? [];
    const opts = { level: c.level, memLevel: c.memLevel, windowBits: c.windowBits, strategy: c.strategy };
    const params = { engine: c.engine, level: c.level, memLevel: c.memLevel, strategy: c.strategy };
    const outs: Buffer[] = [];
    const t0 = process.cpuUsage();
    if (c.engine !== 'zlib') for (const b of blocks) outs.push(deflateBlock(b.raw, params));
    else for (const b of blocks) outs.push(deflateRawSync(b.raw, opts));
    const t = process.cpuUsage(t0);
    const us = (t.user + t.system) / POSTS;
    cpuUs.set(c.name, [...(cpuUs.get(c.name) ?? []), us]);
    let bytes = 0;
    outs.forEach((o, k) => {
      bytes += o.length + varintBytes(blocks[k].count) + varintBytes(o.length) + 16;
      if (r === 0 && !inflateRawSync(o).equals(blocks[k].raw)) {
        process.stderr.write(`${c.name}: block ${k} does not inflate back to its records\n`);
        process.exit(1);
      }
    });
    size.set(c.name, bytes / POSTS);
  }
}
const load1 = loadavg();
const base = configs[0].name;
process.stdout.write(
  `${POSTS} posts${args.text === undefined ? ' (default texts)' : ` (texts: ${args.text})`}, ${(rawBytes / POSTS).toFixed(1)} raw bytes/record, ${REPEATS} repeats, load average ${load0.map((x) => x.toFixed(2)).join(' ')} at start, ${load1.map((x) => x.toFixed(2)).join(' ')} at end\n` +
    '| config | CPU us/record, median (range) | vs first | bytes/record | vs first |\n|---|---|---|---|---|\n' +
    configs
      .map((c) => {
        const xs = cpuUs.get(c.name) ?? [];
        const b = size.get(c.name) ?? NaN;
        return `| ${c.name} | ${median(xs).toFixed(3)} (${Math.min(...xs).toFixed(3)}-${Math.max(...xs).toFixed(3)}) | ${(median(xs) / median(cpuUs.get(base) ?? [])).toFixed(2)} | ${b.toFixed(1)} | ${(b / (size.get(base) ?? NaN)).toFixed(3)} |`;
      })
      .join('\n') +
    '\n',
);

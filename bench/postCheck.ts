/**
 * The archive sink's Post check alone (schemas/postScan.ts), no Kafka: the scan
 * written for the latest Post schema (checkPosts, what the sink runs) against
 * the generic one it replaced (scanAvro over the schema's type tree, then id and
 * created_at: genericCheck), on the bench's Post records (bench/archivePosts.ts;
 * --text FILE for real text) packed --batch to a buffer as the sink packs them.
 * The two alternate, --repeats times each, in one process; prints the median and
 * range of the main thread's CPU time per record of each (bench/threadCpu.ts;
 * wall time without /proc), their ratio, and the load average.
 * Both must give every record the same status (checked; exits 1 otherwise).
 *
 * Usage: node dist/bench/postCheck.js [--posts 200000] [--batch 500] [--repeats 7] [--text FILE]
 */
import { loadavg } from 'node:os';
import { checkPosts, genericCheck, POST_OK } from '../schemas/postScan.js';
import { latestVersion, loadSchema } from '../schemas/registry.js';
import { benchPost, benchTexts } from './archivePosts.js';
import { benchArgs } from './args.js';
import { median } from './stats.js';
import { mainThreadCpuUs } from './threadCpu.js';

const args = benchArgs(import.meta.url, { posts: { type: 'string', default: '200000' }, batch: { type: 'string', default: '500' }, repeats: { type: 'string', default: '7' }, text: { type: 'string' } });
const POSTS = Number(args.posts);
const BATCH = Number(args.batch);
const REPEATS = Number(args.repeats);
const texts = benchTexts(args.text);
const type = loadSchema('post', latestVersion('post'));

interface Packed {
  data: Buffer;
  ends: Uint32Array;
  stamps: Float64Array;
  count: number;
}
const batches: Packed[] = [];
let bytes = 0;
for (let i = 0; i < POSTS; i += BATCH) {
  const values: Buffer[] = [];
  for (let j = i; j < Math.min(POSTS, i + BATCH); j++) values.push(benchPost(j, texts).value);
  const data = Buffer.concat(values);
  const ends = new Uint32Array(values.length);
  values.reduce((at, v, k) => (ends[k] = at + v.length), 0);
  bytes += data.length;
  batches.push({ data, ends, stamps: new Float64Array(values.length).fill(1), count: values.length });
}

const fastStatus = batches.map((b) => new Uint8Array(b.count));
const genericStatus = batches.map((b) => new Uint8Array(b.count));
const times = new Float64Array(BATCH);

/** CPU time of the main thread in us (wall time where /proc is missing): on a shared machine the steadier measure. */
const clock = (): number => mainThreadCpuUs() ?? Number(process.hrtime.bigint()) / 1e3;

function fast(): number {
  const t0 = clock();
  batches.forEach((b, i) => checkPosts(b.data, b.ends, b.stamps, b.count, fastStatus[i], times));
  return (clock() - t0) / POSTS;
}
function generic(): number {
  const t0 = clock();
  batches.forEach((b, i) => {
    let start = 0;
    for (let k = 0; k < b.count; k++) {
      genericStatus[i][k] = genericCheck(type, b.data, start, b.ends[k]);
      start = b.ends[k];
    }
  });
  return (clock() - t0) / POSTS;
}

const load = loadavg();
const f: number[] = [];
const g: number[] = [];
fast();
generic(); // warm up both
for (let r = 0; r < REPEATS; r++) {
  if (r % 2 === 0) {
    f.push(fast());
    g.push(generic());
  } else {
    g.push(generic());
    f.push(fast());
  }
}
for (let i = 0; i < batches.length; i++) {
  for (let k = 0; k < batches[i].count; k++) {
    if (fastStatus[i][k] !== genericStatus[i][k] || fastStatus[i][k] !== POST_OK) {
      process.stderr.write(`batch ${i} record ${k}: specialised ${fastStatus[i][k]}, generic ${genericStatus[i][k]}\n`);
      process.exit(1);
    }
  }
}
const fmt = (xs: number[]) => `${median(xs).toFixed(3)} us CPU/record (${Math.min(...xs).toFixed(3)}-${Math.max(...xs).toFixed(3)})`;
process.stdout.write(
  `${POSTS} posts${args.text === undefined ? '' : ` (texts: ${args.text})`}, ${(bytes / POSTS).toFixed(1)} bytes/record, batches of ${BATCH}, ${REPEATS} repeats, load average ${load.map((x) => x.toFixed(2)).join(' ')}\n` +
    `  specialised scan (checkPosts): ${fmt(f)}\n  generic scan (genericCheck):   ${fmt(g)}\n  ratio of medians ${(median(f) / median(g)).toFixed(2)}\n`,
);

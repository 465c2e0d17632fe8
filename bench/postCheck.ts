/**
 * The archive sink's Post check alone (schemas/postScan.ts), no Kafka: the scan
 * written for the latest Post schema (checkRecords, what the sink runs) against
 * the generic one it replaced (scanAvro over the schema's type tree, then id and
 * created_at: genericCheck), on the bench's Post records (bench/archivePosts.ts;
 * --text FILE for real text) in batches of --batch records as consumed (each
 * value its own buffer), as the sink checks them.
 * The two alternate, --repeats times each, in one process; prints the median and
 * range of the main thread's CPU time per record of each (bench/threadCpu.ts;
 * wall time without /proc), their ratio, and the load average.
 * Both must give every record the same status (checked; exits 1 otherwise).
 *
 * Usage: node dist/bench/postCheck.js [--posts 200000] [--batch 500] [--repeats 7] [--text FILE]
 */
import { loadavg } from 'node:os';
import { checkRecords, genericCheck, POST_OK } from '../schemas/postScan.js';
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

interface Batch {
  records: Array<{ value: Buffer; timestamp: string }>;
  count: number;
}
const batches: Batch[] = [];
let bytes = 0;
for (let i = 0; i < POSTS; i += BATCH) {
  const records: Batch['records'] = [];
  for (let j = i; j < Math.min(POSTS, i + BATCH); j++) records.push({ value: benchPost(j, texts).value, timestamp: '1' });
  for (const r of records) bytes += r.value.length;
  batches.push({ records, count: records.length });
}

const fastStatus = batches.map((b) => new Uint8Array(b.count));
const genericStatus = batches.map((b) => new Uint8Array(b.count));
const times = new Float64Array(BATCH);

/** CPU time of the main thread in us (wall time where /proc is missing): on a shared machine the steadier measure. */
const clock = (): number => mainThreadCpuUs() ?? Number(process.hrtime.bigint()) / 1e3;

function fast(): number {
  const t0 = clock();
  batches.forEach((b, i) => checkRecords(b.records, fastStatus[i], times));
  return (clock() - t0) / POSTS;
}
function generic(): number {
  const t0 = clock();
  batches.forEach((b, i) => {
    for (let k = 0; k < b.count; k++) {
      const { value } = b.records[k];
      genericStatus[i][k] = genericCheck(type, value, 0, value.length);
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
    `  specialised scan (checkRecords): ${fmt(f)}\n  generic scan (genericCheck):    ${fmt(g)}\n  ratio of medians ${(median(f) / median(g)).toFixed(2)}\n`,
);

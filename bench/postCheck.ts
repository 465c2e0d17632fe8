/**
 * The archive sink's Post check alone (schemas/postScan.ts), no Kafka: checkRecords
 * (what the sink runs) with mentionflow's addon (schemas/native/postscan.c, where
 * built) and with its TypeScript scan, against the generic scan (scanAvro over the
 * schema's type tree, then id and created_at: genericCheck), on the bench's Post
 * records (bench/archivePosts.ts; --text FILE for real text) in batches of --batch
 * records as kafkajs hands them over (each value a view into one buffer).
 * The legs rotate, --repeats times each, in one process; prints the median and
 * range of the main thread's CPU time per record of each (bench/threadCpu.ts;
 * wall time without /proc), its ratio to the generic scan's, and the load average.
 * Every leg must find every record a whole Post (checked; exits 1 otherwise).
 *
 * Usage: node dist/bench/postCheck.js [--posts 200000] [--batch 500] [--repeats 7] [--text FILE]
 */
import { loadavg } from 'node:os';
import { nativeAddonStatus } from '../schemas/nativeAddon.js';
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
  const values: Buffer[] = [];
  for (let j = i; j < Math.min(POSTS, i + BATCH); j++) values.push(benchPost(j, texts).value);
  // as kafkajs hands a fetched batch over: each value a view into one response buffer
  const data = Buffer.concat(values);
  let at = 0;
  const records = values.map((v) => ({ value: data.subarray(at, (at += v.length)), timestamp: '1' }));
  bytes += data.length;
  batches.push({ records, count: records.length });
}

const times = new Float64Array(BATCH);

/** CPU time of the main thread in us (wall time where /proc is missing): on a shared machine the steadier measure. */
const clock = (): number => mainThreadCpuUs() ?? Number(process.hrtime.bigint()) / 1e3;

/** The legs: checkRecords with the addon (where built) and in TypeScript, and the generic scan alone. */
const legs: Array<{ name: string; status: Uint8Array[]; run: (b: Batch, status: Uint8Array) => void }> = [
  ...(nativeAddonStatus().available ? [{ name: 'checkRecords, addon (postscan.c)', status: [] as Uint8Array[], run: (b: Batch, st: Uint8Array) => checkRecords(b.records, st, times, 'native') }] : []),
  { name: 'checkRecords, TypeScript scan', status: [], run: (b, st) => checkRecords(b.records, st, times, 'ts') },
  {
    name: 'generic scan (genericCheck)',
    status: [],
    run: (b, st) => {
      for (let k = 0; k < b.count; k++) {
        const { value } = b.records[k];
        st[k] = genericCheck(type, value, 0, value.length);
      }
    },
  },
];
for (const leg of legs) leg.status = batches.map((b) => new Uint8Array(b.count));
const cpu: number[][] = legs.map(() => []);
const timeLeg = (k: number): number => {
  const t0 = clock();
  batches.forEach((b, i) => legs[k].run(b, legs[k].status[i]));
  return (clock() - t0) / POSTS;
};

const load = loadavg();
legs.forEach((_, k) => timeLeg(k)); // warm up each
for (let r = 0; r < REPEATS; r++) for (let j = 0; j < legs.length; j++) cpu[(j + r) % legs.length].push(timeLeg((j + r) % legs.length));
for (let i = 0; i < batches.length; i++) {
  for (let k = 0; k < batches[i].count; k++) {
    if (legs.some((leg) => leg.status[i][k] !== POST_OK)) {
      process.stderr.write(`batch ${i} record ${k}: ${legs.map((leg) => `${leg.name} ${leg.status[i][k]}`).join(', ')} (every leg must find a whole Post)\n`);
      process.exit(1);
    }
  }
}
const fmt = (xs: number[]) => `${median(xs).toFixed(3)} us CPU/record (${Math.min(...xs).toFixed(3)}-${Math.max(...xs).toFixed(3)})`;
const last = cpu.length - 1;
process.stdout.write(
  `${POSTS} posts${args.text === undefined ? '' : ` (texts: ${args.text})`}, ${(bytes / POSTS).toFixed(1)} bytes/record, batches of ${BATCH} (views into one buffer each), ${REPEATS} repeats, load average ${load.map((x) => x.toFixed(2)).join(' ')}` +
    `${nativeAddonStatus().available ? '' : `; the addon is ${nativeAddonStatus().reason ?? 'missing'}`}\n` +
    legs.map((leg, k) => `  ${leg.name.padEnd(34)} ${fmt(cpu[k])}; vs the generic scan ${(median(cpu[k]) / median(cpu[last])).toFixed(2)}\n`).join(''),
);

/**
 * The failure model's long runs: each scenario of test/faults/scenarios.ts
 * as many times as asked, against the test broker (KAFKA_BROKERS) and a
 * broker of its own for the broker faults; prints the table of the README's
 * failure model (Markdown) and writes it to --out.
 *
 *   node dist/test/faults/run.js [--sigterm 20] [--kills 5] [--stops 5] [--pauses 5] [--thread-deaths 5] [--evictions 10] [--rolling 5] [--rolling-live 5] [--once 1] [--out FILE]
 *
 * --sigterm N   SIGTERM mid-stream N times (shipped model), at-least-once and exactly-once
 * --kills N     broker kill -9 + restart N times while one worker runs, both delivery modes
 * --stops N     broker clean stop + restart N times, both delivery modes
 * --pauses N    freeze one of two workers (SIGSTOP) longer than its session N times, both delivery modes
 * --thread-deaths N  one of a worker's two inference threads dies, N times (shipped model), both delivery modes
 * --rolling N   rolling restarts on a backlog (a new worker joins mid-stream, the old one stops), N times, both delivery modes
 * --rolling-live N  the same under live traffic (about 1,000 posts/s: the workers keep up, their records in flight in the tagger), N times, both delivery modes
 * --evictions N SIGTERM right after the group evicted a frozen worker, N times (shipped model, at-least-once;
 *               a broker of its own with Kafka's default 3 s initial rebalance delay)
 * --down-ms MS  how long the broker stays down each time (default 15000)
 * Also, once each (--once 0: not at all): an output too large for its topic,
 * a topic limit lowered while running, a broker down longer than the outage
 * bound, and two exactly-once workers on one host.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs } from '../../bench/args.js';
import { defaultModelDir } from '../../cli/defaults.js';
import { OwnBroker } from '../support/broker.js';
import { KAFKA_SKIP, kafkaBrokers, saveTinyModel } from '../support/kafka.js';
import {
  brokerOutages,
  limitLoweredWhileRunning,
  outageBeyondBound,
  pausedWorker,
  poisonOutput,
  rollingRestarts,
  sigtermAfterEviction,
  sigtermMidStream,
  threadDeaths,
  twoExactlyOnceWorkersOneHost,
  type FaultRow,
} from './scenarios.js';

// `node --test dist/test/` runs every file under dist/test/, this script too:
// it is the long run (tens of minutes), not a test; faults.test.ts is CI's short version.
if (process.env.NODE_TEST_CONTEXT !== undefined) {
  process.stdout.write('# the long fault runs are not run by node --test; run `node dist/test/faults/run.js` yourself\n');
  process.exit(0);
}
const values = benchArgs(import.meta.url, {
  sigterm: { type: 'string', default: '20' },
  kills: { type: 'string', default: '5' },
  stops: { type: 'string', default: '5' },
  pauses: { type: 'string', default: '5' },
  'thread-deaths': { type: 'string', default: '5' },
  evictions: { type: 'string', default: '10' },
  rolling: { type: 'string', default: '5' },
  'rolling-live': { type: 'string', default: '5' },
  once: { type: 'string', default: '1' },
  'down-ms': { type: 'string', default: '15000' },
  out: { type: 'string' },
});
const brokers = kafkaBrokers();
if (brokers === undefined) {
  process.stderr.write(`${KAFKA_SKIP}\n`);
  process.exit(2);
}
const shipped = defaultModelDir();
const tiny = await saveTinyModel(join(mkdtempSync(join(tmpdir(), 'mf-faults-')), 'model'));
const downMs = Number(values['down-ms']);
const once = values.once !== '0';
const rows: FaultRow[] = [];
const started = new Date();
const step = async (name: string, run: () => Promise<FaultRow>): Promise<void> => {
  const t0 = Date.now();
  process.stderr.write(`== ${name}\n`);
  const row = await run();
  rows.push(row);
  process.stderr.write(`   ${JSON.stringify(row)} (${Math.round((Date.now() - t0) / 1000)} s)\n`);
};

for (const delivery of ['at-least-once', 'exactly-once'] as const) {
  if (Number(values.sigterm) > 0) await step(`SIGTERM x${values.sigterm} ${delivery}`, () => sigtermMidStream({ brokers, model: shipped, runs: Number(values.sigterm), delivery }));
}
for (const delivery of ['at-least-once', 'exactly-once'] as const) {
  const deaths = Number(values['thread-deaths']);
  if (deaths > 0) await step(`inference thread deaths x${deaths} ${delivery}`, () => threadDeaths({ brokers, model: shipped, delivery, deaths }));
}
if (once) {
  await step('poison output', () => poisonOutput({ brokers, model: shipped, delivery: 'at-least-once' }));
  await step('topic limit lowered while running', () => limitLoweredWhileRunning({ brokers, model: shipped }));
}
for (const delivery of ['at-least-once', 'exactly-once'] as const) {
  if (Number(values.pauses) > 0) await step(`paused worker x${values.pauses} ${delivery}`, () => pausedWorker({ brokers, model: tiny, delivery, pauses: Number(values.pauses) }));
}
if (once) await step('two exactly-once workers on one host', () => twoExactlyOnceWorkersOneHost({ brokers, model: tiny }));
for (const delivery of ['at-least-once', 'exactly-once'] as const) {
  const n = Number(values.rolling);
  if (n > 0) await step(`rolling restarts x${n} ${delivery}`, () => rollingRestarts({ brokers, model: shipped, delivery, restarts: n }));
  const live = Number(values['rolling-live']);
  if (live > 0) await step(`rolling restarts under live traffic x${live} ${delivery}`, () => rollingRestarts({ brokers, model: shipped, delivery, restarts: live, postsPerRestart: 8000, livePostsPerSecond: 1000 }));
}
if (Number(values.evictions) > 0) {
  const delayed = await OwnBroker.start({ extraProps: 'group.initial.rebalance.delay.ms=3000' });
  try {
    await step(`SIGTERM after an eviction x${values.evictions}`, () => sigtermAfterEviction({ broker: delayed, model: shipped, runs: Number(values.evictions) }));
  } finally {
    await delayed.dispose();
  }
}
const broker = once || Number(values.kills) > 0 || Number(values.stops) > 0 ? await OwnBroker.start() : undefined;
try {
  for (const kind of ['kill', 'stop'] as const) {
    const n = Number(kind === 'kill' ? values.kills : values.stops);
    if (n === 0) continue;
    for (const delivery of ['at-least-once', 'exactly-once'] as const) {
      await step(`broker ${kind} x${n} ${delivery}`, () => brokerOutages({ broker: broker!, model: tiny, delivery, outages: n, kind, downMs, posts: 2000 * (n + 1) }));
    }
  }
  for (const delivery of ['at-least-once', 'exactly-once'] as const) {
    if (once) await step(`outage beyond the bound ${delivery}`, () => outageBeyondBound({ broker: broker!, model: tiny, delivery }));
  }
} finally {
  await broker?.dispose();
}

const table = [
  `Failure runs of ${started.toISOString()} (\`node dist/test/faults/run.js --sigterm ${values.sigterm} --kills ${values.kills} --stops ${values.stops} --pauses ${values.pauses} --thread-deaths ${values['thread-deaths']} --evictions ${values.evictions} --rolling ${values.rolling} --rolling-live ${values['rolling-live']} --once ${values.once} --down-ms ${downMs}\`):`,
  '',
  '| event | runs | inputs | lost | duplicated | exit | readiness | notes |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.event} | ${r.runs} | ${r.inputs} | ${r.lost} | ${r.duplicated} | ${r.exits} | ${r.readiness} | ${r.notes} |`),
  '',
].join('\n');
process.stdout.write(table);
if (values.out !== undefined) writeFileSync(values.out, table);

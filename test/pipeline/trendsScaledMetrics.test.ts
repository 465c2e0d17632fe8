// The scaled-out trends stages' /metrics against the test broker: `trends --stage rekey`,
// `--stage aggregate` and `--stage merge` run as processes with `--metrics-port 0` over mention
// records (some undecodable); once the last window is written, each stage's /metrics is scraped
// and compared with what its topics hold (read read_committed here): the re-key stage's entity
// records, progress markers and dead letters, the aggregator's partials per partition and owned
// partitions, the merger's trend records and wait-time observations. Skipped without KAFKA_BROKERS.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { decodeEntityMention } from '../../operators/trends/rekey.js';
import { decodeStrict, encodeStrict, loadSchema } from '../../schemas/registry.js';
import type { EntityTrend, Mention, PostMentions } from '../../schemas/types.generated.js';
import { assertStagesRunning, stageArgs, scaledTopicsOfSuite } from '../support/trendsScaled.js';
import { KAFKA_SKIP, kafkaBrokers, sleep, spawnCli, type Cli } from '../support/kafka.js';

const brokers = kafkaBrokers();
const N = 1200;
const GARBAGE = 7;
const WINDOW = 2_000;
const LATENESS = 1_000;
const BASE = Date.UTC(2024, 6, 1, 8);
const NAMES = [...'赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何'];

function generate(): PostMentions[] {
  return Array.from({ length: N }, (_, i) => {
    const mentions: Mention[] = [];
    for (let j = 0; j < i % 3; j++) {
      const e = (i * 7 + j * 5) % NAMES.length;
      mentions.push({ text: `${NAMES[e]}${NAMES[(e * 3) % NAMES.length]}`, label: 'PER.NAM', type: 'PER', kind: 'NAM', start: j * 4, end: j * 4 + 2, start_utf16: j * 4, end_utf16: j * 4 + 2, confidence: 0.9 } as Mention);
    }
    return { post_id: `p${i}`, created_at: BASE + i * 20 - ((i * 7919) % 500), origin: null, mentions, model: { id: 'test', version: '1' }, processed_at: BASE, latency_ms: null } as unknown as PostMentions;
  });
}

/** The value of one sample line of a Prometheus text page (undefined: absent). */
function sample(page: string, name: string, labels = ''): number | undefined {
  const line = page.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('mentionflow trends --stage ... --metrics-port: the scaled-out stages on /metrics', { skip: brokers === undefined ? KAFKA_SKIP : undefined, timeout: 180_000 }, () => {
  const scaledTopics = scaledTopicsOfSuite(brokers);

  it('records, markers, dead letters, transactions; partitions owned, restores, partials; windows emitted and their wait', async () => {
    const t = await scaledTopics('trends-metrics', 3);
    const common = [...stageArgs(brokers!, t, WINDOW, LATENESS), '--metrics-port', '0'];
    const gen = generate();
    const kafka = new Kafka({ clientId: 'trends-metrics-test', brokers: brokers!, logLevel: logLevel.NOTHING });
    const mentionsType = loadSchema('mentions');
    const trendType = loadSchema('trends');
    const seen = { entity: 0, progress: 0, deadletter: 0, trends: 0, lastStart: -Infinity, partials: [0, 0, 0] };
    const procs: Cli[] = [];
    const reader = kafka.consumer({ groupId: `${t.group}-check`, readUncommitted: false, maxWaitTimeInMs: 200 });
    const urlOf = async (c: Cli): Promise<string> => {
      await c.waitForStderr(/"url":"http:[^"]+"/, 60_000);
      return /"url":"(http:[^"]+)"/.exec(c.stderr)![1]!;
    };
    const scrape = async (url: string): Promise<string> => (await fetch(url)).text();
    try {
      const rekey = spawnCli([...common, '--stage', 'rekey', '--create-topics', '--repartition-partitions', '3']);
      procs.push(rekey);
      await rekey.waitForStderr(/re-key stage consuming/, 60_000);
      const agg = spawnCli([...common, '--stage', 'aggregate']);
      const merge = spawnCli([...common, '--stage', 'merge']);
      procs.push(agg, merge);
      const [rekeyUrl, aggUrl, mergeUrl] = await Promise.all([urlOf(rekey), urlOf(agg), urlOf(merge)]);
      const o = t.output;
      await reader.connect();
      await reader.subscribe({ topics: [o, `${o}.repartition`, `${o}.repartition.deadletter`, `${o}.partials`], fromBeginning: true });
      await reader.run({
        eachMessage: async ({ topic, message }) => {
          if (topic === o) {
            seen.trends++;
            seen.lastStart = Math.max(seen.lastStart, decodeStrict<EntityTrend>(trendType, message.value!).window_start);
          } else if (topic === `${o}.repartition`) {
            if (decodeEntityMention(message.value!).kind === 'PROGRESS') seen.progress++;
            else seen.entity++;
          } else if (topic === `${o}.partials`) seen.partials[Number(message.headers?.partition?.toString())]!++;
          else seen.deadletter++;
        },
      });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      for (let i = 0; i < N; i += 300) {
        const messages = gen.slice(i, i + 300).map((r, j) => ({ key: r.post_id, value: encodeStrict(mentionsType, r), partition: (i + j) % 3 }));
        if (i === 0) for (let g = 0; g < GARBAGE; g++) messages.push({ key: `bad${g}`, value: Buffer.from([0xff, 0xfe, g]), partition: g % 3 });
        await producer.send({ topic: t.input, acks: -1, messages });
        await sleep(500);
      }
      await producer.disconnect();
      const lastStart = Math.floor(gen.reduce((a, r) => Math.max(a, r.created_at), 0) / WINDOW) * WINDOW;
      for (let i = 0; i < 300 && seen.lastStart < lastStart; i++) {
        assertStagesRunning(procs);
        await sleep(200);
      }
      assert.ok(seen.lastStart >= lastStart, `the last window (${lastStart}) was written`);

      // each stage's counters against its topics: they agree once what is committed has been read (polled, bounded)
      let pages: string[] = [];
      const agree = (): string[] => {
        const [r, a, m] = pages as [string, string, string];
        const diffs: string[] = [];
        const eq = (what: string, got: number | undefined, want: number): void => void (got === want || diffs.push(`${what}: metric ${got}, topic ${want}`));
        eq('entity records', sample(r, 'mentionflow_trends_rekey_records_written_total', '{kind="entity"}'), seen.entity);
        eq('progress markers', sample(r, 'mentionflow_trends_rekey_records_written_total', '{kind="progress"}'), seen.progress);
        eq('dead letters', sample(r, 'mentionflow_trends_rekey_records_written_total', '{kind="deadletter"}'), seen.deadletter);
        for (let p = 0; p < 3; p++) eq(`partials of ${p}`, sample(a, 'mentionflow_trends_partials_written_total', `{partition="${p}"}`), seen.partials[p]!);
        eq('trend records', sample(m, 'mentionflow_trends_merge_windows_emitted_total'), seen.trends);
        eq('wait observations', sample(m, 'mentionflow_trends_merge_wait_seconds_count'), seen.trends);
        return diffs;
      };
      for (let i = 0; i < 40; i++) {
        pages = await Promise.all([rekeyUrl, aggUrl, mergeUrl].map(scrape));
        if (agree().length === 0) break;
        await sleep(500);
      }
      const [r, a, m] = pages as [string, string, string];
      process.stderr.write(
        `trends metrics test: re-key entity ${seen.entity}, progress ${seen.progress}, dead letters ${seen.deadletter}, transactions ${sample(r, 'mentionflow_trends_rekey_transactions_total')}; ` +
          `partials ${seen.partials.join('/')}, owned ${sample(a, 'mentionflow_trends_partitions_owned')}; trends ${seen.trends}, waiting ${sample(m, 'mentionflow_trends_merge_windows_waiting')}, wait sum ${sample(m, 'mentionflow_trends_merge_wait_seconds_sum')} s\n`,
      );
      assert.deepEqual(agree(), [], 'the metrics equal what the topics hold');
      assert.equal(seen.deadletter, GARBAGE);
      assert.ok(seen.entity > 0 && seen.progress > 0 && seen.partials.every((n) => n > 0));
      // every input partition had records: at least one transaction each (one transactional id per input partition)
      assert.ok(sample(r, 'mentionflow_trends_rekey_transactions_total')! >= 3, 'transactions counted');
      assert.equal(sample(a, 'mentionflow_trends_partitions_owned'), 3, 'the one aggregator owns every partition');
      for (let p = 0; p < 3; p++) {
        assert.ok(sample(a, 'mentionflow_trends_partition_restores_total', `{partition="${p}"}`)! >= 1, `partition ${p} restored`);
        assert.ok(sample(a, 'mentionflow_trends_partition_restore_seconds', `{partition="${p}"}`)! > 0, `partition ${p}'s restore time`);
      }
      assert.ok(sample(m, 'mentionflow_trends_merge_restore_seconds')! > 0, "the merger's restore time");
      assert.ok(sample(m, 'mentionflow_trends_merge_windows_waiting') !== undefined);
      assert.ok(sample(m, 'mentionflow_trends_merge_wait_seconds_sum')! > 0, 'windows waited for their partitions');
      for (const p of procs) p.kill('SIGTERM');
      const exits = await Promise.all(procs.map((p) => p.exited));
      exits.forEach((e, i) => assert.equal(e.code, 0, `stage ${i} after SIGTERM: ${procs[i]!.stderr.slice(-2000)}`));
    } finally {
      for (const p of procs) p.kill('SIGKILL');
      await reader.disconnect();
    }
  });
});

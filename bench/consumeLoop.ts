/**
 * The bare kafkajs consume loop the stage benchmarks compare against (and
 * the loop they drive their stage from): a fresh consumer group reads a topic
 * from the beginning, autoCommit off, handing each fetched batch to
 * `onBatch`, until `total` records have come. Timed from the first batch to
 * the last (wall and this process's CPU), so connecting and the group join
 * are not counted.
 */
import type { Batch } from 'kafkajs';
import { createKafkaClient } from '../pipeline/kafka/client.js';
import type { Logger } from '../pipeline/ops/logger.js';
import { mainThreadCpuUs } from './threadCpu.js';

export interface ConsumeLoopOptions {
  brokers: string[];
  topic: string;
  groupId: string;
  /** Records to read before the clock stops. */
  total: number;
  logger: Logger;
  /** Called with each fetched batch; nothing by default (the bare loop). */
  onBatch?: (batch: Batch) => void;
  /** Called once after the last batch, inside the timed span (e.g. to flush what the stage holds). */
  onEnd?: () => void;
}

export interface ConsumeLoopTiming {
  /** Wall seconds from the first batch to the end. */
  seconds: number;
  /** CPU seconds (user + system) of this process over the same span. */
  cpuSeconds: number;
  /** CPU seconds of the main (JS) thread alone over the same span; undefined without /proc. */
  mainCpuSeconds?: number;
}

export async function consumeLoop(opts: ConsumeLoopOptions): Promise<ConsumeLoopTiming> {
  const consumer = createKafkaClient({ brokers: opts.brokers, logger: opts.logger }).consumer({ groupId: opts.groupId, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
  let count = 0;
  let first = 0n;
  let cpu0 = process.cpuUsage();
  let main0 = mainThreadCpuUs();
  let timing: ConsumeLoopTiming = { seconds: 0, cpuSeconds: 0 };
  let finish: () => void = () => undefined;
  const done = new Promise<void>((r) => (finish = r));
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      if (count === 0) {
        first = process.hrtime.bigint();
        cpu0 = process.cpuUsage();
        main0 = mainThreadCpuUs();
      }
      opts.onBatch?.(batch);
      count += batch.messages.length;
      if (count >= opts.total && timing.seconds === 0) {
        opts.onEnd?.();
        const c = process.cpuUsage(cpu0);
        const main1 = mainThreadCpuUs();
        timing = { seconds: Number(process.hrtime.bigint() - first) / 1e9, cpuSeconds: (c.user + c.system) / 1e6 };
        if (main0 !== undefined && main1 !== undefined) timing.mainCpuSeconds = (main1 - main0) / 1e6;
        finish();
      }
    },
  });
  await done;
  await consumer.disconnect();
  return timing;
}

/**
 * A fix to kafkajs, put in place before kafkajs is loaded: pipeline/kafka/kafkajs.ts
 * imports this module first, and every value import of kafkajs in the
 * project goes through that one (test/architecture checks it).
 *
 * The fix: kafkajs 2.2.4 groups a produce request's messages by partition
 * with `[...current, message]` for every message
 * (src/producer/groupMessagesPerPartition.js), copying the partition's list
 * each time: quadratic in the messages per partition of one request. The
 * worker's sink sends up to 512 KiB per request (thousands of mention
 * records), where this was 6-8% of the identity pipeline's CPU samples and
 * 11-18% of the bare loop's (issue 17; upstream tulios/kafkajs#1576, open).
 * The replacement builds the same object (partition -> messages, in order)
 * in one pass. It is installed only for kafkajs 2.2.4 (the module it
 * replaces is internal): another version loads unchanged.
 */
import { kafkajsRequire, patchableKafkajsModule, replaceCachedModule } from './kafkajsPatch.js';

interface GroupArgs {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly unknown[];
  partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: unknown }) => number;
}

/** Calls of the replacement so far (tests check that kafkajs's producer calls it). */
export const groupingCalls = { count: 0 };

/** What kafkajs's groupMessagesPerPartition returns, in one pass. */
export function groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner }: GroupArgs): Record<number, unknown[]> {
  groupingCalls.count++;
  const result: Record<number, unknown[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = result[partition];
    if (list === undefined) result[partition] = [message];
    else list.push(message);
  }
  return result;
}

function install(): boolean {
  const path = patchableKafkajsModule('kafkajs/src/producer/groupMessagesPerPartition.js');
  if (path === undefined) return false;
  const loaded = kafkajsRequire.cache[path];
  if (loaded !== undefined && loaded.exports !== groupMessagesPerPartition) {
    // kafkajs's producer was loaded before this module (an import that bypassed it): too late to replace.
    return false;
  }
  replaceCachedModule(path, groupMessagesPerPartition);
  return true;
}

/** Whether the one-pass grouping is in place (false: another kafkajs version, or kafkajs was loaded first). */
export const groupingFixed = install();


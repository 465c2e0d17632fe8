/**
 * The group generation in kafkajs's GROUP_JOIN event, put in place before
 * kafkajs is loaded (pipeline/kafka/kafkajs.ts imports this module first).
 *
 * kafkajs 2.2.4 knows the generation of the group it joined (the
 * JoinGroup response's generationId, which the coordinator increments at
 * every rebalance and with which it fences offset commits) but its
 * GROUP_JOIN payload leaves it out. The archive sink needs it to order the
 * owners of a partition's staging folder (pipeline/file/archiveRoller.ts:
 * an owner of a newer generation fences an older one, never the reverse).
 * The replacement is kafkajs's own ConsumerGroup whose instrumentation
 * emitter adds `generationId` (the generation just joined) to GROUP_JOIN
 * payloads; everything else passes through unchanged. Installed only for
 * kafkajs 2.2.4 (the module it wraps is internal): with another version
 * GROUP_JOIN payloads have no generationId and the archive sink says so.
 */
import { kafkajsRequire as require, patchableKafkajsModule, replaceCachedModule } from './kafkajsPatch.js';

interface Emitter {
  emit(name: string, payload?: object): unknown;
}

type ConsumerGroupClass = new (options: object) => { instrumentationEmitter: Emitter; generationId: number | null };

function install(): boolean {
  const path = patchableKafkajsModule('kafkajs/src/consumer/consumerGroup.js');
  if (path === undefined) return false;
  if (require.cache[path] !== undefined) return (require(path) as { generationInJoin?: boolean }).generationInJoin === true;
  const { GROUP_JOIN } = (require('kafkajs/src/consumer/instrumentationEvents.js') as { events: { GROUP_JOIN: string } }).events;
  const Original = require(path) as ConsumerGroupClass;
  class ConsumerGroup extends Original {
    static readonly generationInJoin = true;
    constructor(options: object) {
      super(options);
      const emitter = this.instrumentationEmitter;
      const wrapped = Object.create(emitter) as Emitter;
      wrapped.emit = (name, payload) => emitter.emit(name, name === GROUP_JOIN && payload !== undefined ? { ...payload, generationId: this.generationId } : payload);
      this.instrumentationEmitter = wrapped;
    }
  }
  replaceCachedModule(path, ConsumerGroup);
  return true;
}

/** Whether GROUP_JOIN payloads carry `generationId` (false: another kafkajs version, or kafkajs was loaded first). */
export const generationInJoin = install();

/**
 * kafkajs's ConsumerGroup with two additions, put in place before kafkajs is
 * loaded (pipeline/kafka/kafkajs.ts imports this module first). Installed
 * only for kafkajs 2.2.4 (the module it wraps is internal); with another
 * version both are missing, and the parts that need them say so.
 *
 * 1. The group generation in GROUP_JOIN payloads. kafkajs 2.2.4 knows the
 *    generation of the group it joined (the JoinGroup response's
 *    generationId, which the coordinator increments at every rebalance and
 *    with which it fences offset commits) but its GROUP_JOIN payload leaves it
 *    out. The archive sink needs it to order the owners of a partition's
 *    staging folder (pipeline/file/archiveRoller.ts: an owner of a newer
 *    generation fences an older one, never the reverse). The replacement's
 *    instrumentation emitter adds `generationId` (the generation just joined)
 *    to GROUP_JOIN payloads; every other event passes through unchanged.
 *
 * 2. A hook before a member rejoins its group (beforeRejoin). When a
 *    heartbeat, a fetch or a batch handler finds that the group is
 *    rebalancing, kafkajs's runner calls joinAndSync() at once, wherever it
 *    found it: after an empty fetch as well as inside a handler. kafkajs has
 *    no callback there, and a member that rejoins gives its partitions up
 *    with whatever it has read and not yet committed. The replacement's
 *    joinAndSync() first awaits the hook registered for its member id (if
 *    any; not for a first join, nor after the coordinator forgot the member,
 *    when kafkajs clears the id and commits would be refused anyway). The
 *    coordinator waits for the member meanwhile (up to the rebalance
 *    timeout) and accepts its commits of the current generation; the hook
 *    gets a heartbeat to keep the session, which answers "rebalancing".
 */
import { kafkajsRequire as require, patchableKafkajsModule, replaceCachedModule } from './kafkajsPatch.js';

interface Emitter {
  emit(name: string, payload?: object): unknown;
}

interface KafkajsConsumerGroup {
  instrumentationEmitter: Emitter;
  generationId: number | null;
  memberId: string | null;
  joinAndSync(): Promise<void>;
  heartbeat(args: { interval: number }): Promise<void>;
}

type ConsumerGroupClass = new (options: object) => KafkajsConsumerGroup;

/** What a hook before a rejoin gets. */
export interface RejoinContext {
  /** Sends a heartbeat (it keeps the member's session while the hook waits; rejects with "rebalancing", as expected). */
  heartbeat(): Promise<void>;
}

/** Runs before the member rejoins; kafkajs rejoins when it settles (a rejection is ignored). */
export type RejoinHook = (context: RejoinContext) => Promise<void>;

const hooks = new Map<string, RejoinHook>();

/**
 * Registers `hook` to run each time the group member `memberId` (the
 * GROUP_JOIN payload's) is about to rejoin after a rebalance, until the
 * returned function removes it. One hook per member: a later registration
 * replaces an earlier one.
 */
export function beforeRejoin(memberId: string, hook: RejoinHook): () => void {
  hooks.set(memberId, hook);
  return () => {
    if (hooks.get(memberId) === hook) hooks.delete(memberId);
  };
}

/** What the patched ConsumerGroup runs before the member `memberId` rejoins: its hook, if one is registered. */
export async function rejoining(memberId: string | null, context: RejoinContext): Promise<void> {
  const hook = memberId === null ? undefined : hooks.get(memberId);
  if (hook !== undefined) await hook(context).catch(() => undefined);
}

function install(): boolean {
  const path = patchableKafkajsModule('kafkajs/src/consumer/consumerGroup.js');
  if (path === undefined) return false;
  if (require.cache[path] !== undefined) return (require(path) as { patched?: boolean }).patched === true;
  const { GROUP_JOIN } = (require('kafkajs/src/consumer/instrumentationEvents.js') as { events: { GROUP_JOIN: string } }).events;
  const Original = require(path) as ConsumerGroupClass;
  class ConsumerGroup extends Original {
    static readonly patched = true;
    constructor(options: object) {
      super(options);
      const emitter = this.instrumentationEmitter;
      const wrapped = Object.create(emitter) as Emitter;
      wrapped.emit = (name, payload) => emitter.emit(name, name === GROUP_JOIN && payload !== undefined ? { ...payload, generationId: this.generationId } : payload);
      this.instrumentationEmitter = wrapped;
    }

    override async joinAndSync(): Promise<void> {
      await rejoining(this.memberId, { heartbeat: () => this.heartbeat({ interval: 0 }) });
      return super.joinAndSync();
    }
  }
  replaceCachedModule(path, ConsumerGroup);
  return true;
}

/**
 * Whether kafkajs's ConsumerGroup is the one above: GROUP_JOIN payloads carry
 * `generationId` and beforeRejoin hooks run (false: another kafkajs version,
 * or kafkajs was loaded first).
 */
export const consumerGroupPatched = install();

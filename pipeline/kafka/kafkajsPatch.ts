/**
 * How mentionflow puts its patches to kafkajs's internals in place
 * (kafkajsFix.ts, consumerGroupPatch.ts): only for the kafkajs version they were
 * written against, by placing a module in node's CommonJS cache under the
 * path of the kafkajs module it replaces, before kafkajs's own code requires
 * that path (pipeline/kafka/kafkajs.ts imports the patches first).
 */
import { createRequire } from 'node:module';

/** `require` for kafkajs's files, resolved from this folder (the CommonJS cache is process-wide). */
export const kafkajsRequire = createRequire(import.meta.url);

/** The kafkajs version the patches are written against; another version loads unpatched. */
export const PATCHED_KAFKAJS_VERSION = '2.2.4';

/** The path of a kafkajs module (e.g. 'kafkajs/src/consumer/consumerGroup.js') if the installed kafkajs is the patched version, else undefined. */
export function patchableKafkajsModule(id: string): string | undefined {
  const { version } = kafkajsRequire('kafkajs/package.json') as { version: string };
  return version === PATCHED_KAFKAJS_VERSION ? kafkajsRequire.resolve(id) : undefined;
}

/** Makes every later `require(path)` return `exports`: a loaded module in the CommonJS cache. */
export function replaceCachedModule(path: string, exports: unknown): void {
  const mod = new (kafkajsRequire('node:module') as { Module: new (id: string) => NodeJS.Module }).Module(path);
  mod.filename = path;
  mod.loaded = true;
  mod.exports = exports;
  kafkajsRequire.cache[path] = mod;
}

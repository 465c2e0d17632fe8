/**
 * Raw DEFLATE (RFC 1951) of one container block, for the deflate codec of
 * schemas/container.ts, by one of three engines: ISA-L's igzip or libdeflate
 * through mentionflow's addon (schemas/nativeAddon.ts; built by
 * deploy/native/build-native-addon.sh, libdeflate statically linked, ISA-L
 * opened at run time from Debian's libisal2), or node:zlib. All write standard raw
 * deflate that any reader inflates (ours reads with node:zlib); the bytes
 * differ between them, the records do not.
 *
 * Why: deflate is most of what the archive sink adds to a bare consume loop. On
 * the archive's blocks of Post records libdeflate level 1 costs about 0.55x of
 * zlib level 1's CPU for 1.3% smaller output, and ISA-L about half of
 * libdeflate's again (BENCHMARKS.md, archive rounds 9 and 10). Both compress a
 * whole buffer per call (no streams), which is how container blocks are
 * compressed anyway; neither has zlib's strategies, so the huffman and rle
 * strategies stay on zlib.
 *
 * Levels: callers speak zlib's 1 (fastest) to 9 (smallest); {@link engineLevel}
 * maps them to the engine's own (ISA-L has 0 to 3). The addon's per-thread state
 * (compressors, level buffers, one output scratch) is freed with the thread.
 */
import { deflateRawSync } from 'node:zlib';
import { ConfigError } from '../common/errors.js';
import { nativeAddon, nativeAddonStatus } from './nativeAddon.js';

/** The library that deflates container blocks. */
export type DeflateEngine = 'isal' | 'libdeflate' | 'zlib';
/** A choice of {@link DeflateEngine}; 'auto' is the fastest one this process has (isal, then libdeflate, then zlib) that can do what was asked. */
export type DeflateEngineChoice = DeflateEngine | 'auto';
export const DEFLATE_ENGINE_CHOICES: readonly DeflateEngineChoice[] = ['auto', 'isal', 'libdeflate', 'zlib'];

/** What deflateBlock needs: the engine, the engine's own level, and (zlib only) memLevel and strategy. */
export interface DeflateParams {
  engine: DeflateEngine;
  /** The engine's level: zlib 1..9, libdeflate 1..12, ISA-L 0..3 ({@link engineLevel} maps zlib's). */
  level: number;
  memLevel: number;
  strategy: number;
}

/** Whether ISA-L can deflate in this process, and if not, why. */
export function isalStatus(): { available: boolean; reason?: string } {
  const addon = nativeAddon();
  if (addon === null) return { available: false, reason: `mentionflow's addon is ${nativeAddonStatus().reason ?? 'missing'}` };
  const reason = addon.isalStatus();
  return reason === null ? { available: true } : { available: false, reason };
}

/**
 * The engine for a choice: 'auto' is ISA-L when the addon loads and finds libisal.so.2, else
 * libdeflate when the addon loads, else zlib; zlib too when `zlibOnly` (a zlib strategy other than
 * the default, or libuv's pool, was asked for). An explicit engine that cannot be had is a
 * ConfigError saying why and what to do.
 */
export function resolveDeflateEngine(choice: DeflateEngineChoice, zlibOnly: boolean): DeflateEngine {
  if (!DEFLATE_ENGINE_CHOICES.includes(choice)) throw new ConfigError(`container deflate engine must be one of ${DEFLATE_ENGINE_CHOICES.join(', ')}, got ${JSON.stringify(choice)}`);
  if (choice === 'zlib') return 'zlib';
  const addon = nativeAddonStatus();
  if (choice === 'auto') {
    if (zlibOnly || !addon.available) return 'zlib';
    return isalStatus().available ? 'isal' : 'libdeflate';
  }
  if (zlibOnly) throw new ConfigError(`container deflate engine ${choice} has no strategies: use the default strategy, or engine zlib for huffman or rle`);
  if (!addon.available) throw new ConfigError(`container deflate engine ${choice}: mentionflow's addon is ${addon.reason ?? 'missing'}; build it with bash deploy/native/build-native-addon.sh (needs libdeflate-dev${choice === 'isal' ? ' and libisal-dev' : ''}), or use engine auto or zlib`);
  if (choice === 'isal') {
    const isal = isalStatus();
    if (!isal.available) throw new ConfigError(`container deflate engine isal: ${isal.reason ?? 'ISA-L is missing'}; or use engine auto, libdeflate or zlib`);
  }
  return choice;
}

/**
 * zlib's level (1 fastest .. 9 smallest) as `engine`'s own: the same number for zlib and
 * libdeflate; for ISA-L 1 -> 1, 2-5 -> 2, 6-9 -> 3 (ISA-L's 0 writes files about a quarter larger
 * than its 1 for no less CPU on Post records, so no zlib level maps to it).
 */
export function engineLevel(engine: DeflateEngine, level: number): number {
  if (engine !== 'isal') return level;
  return level <= 1 ? 1 : level <= 5 ? 2 : 3;
}

/** `raw` as raw deflate, on the calling thread. */
export function deflateBlock(raw: Uint8Array, p: DeflateParams): Buffer {
  if (p.engine === 'zlib') return deflateRawSync(raw, { level: p.level, memLevel: p.memLevel, strategy: p.strategy });
  const a = nativeAddon();
  if (a === null) throw new ConfigError(`${p.engine}: mentionflow's addon is ${nativeAddonStatus().reason ?? 'missing'}`);
  return p.engine === 'isal' ? a.isalDeflateRaw(raw, p.level) : a.deflateRaw(raw, p.level);
}

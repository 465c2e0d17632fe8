/**
 * Raw DEFLATE (RFC 1951) of one container block, for the deflate codec of
 * schemas/container.ts: libdeflate through mentionflow's addon
 * (schemas/nativeAddon.ts; built by deploy/native/build-native-addon.sh,
 * libdeflate statically linked) where it is built, node:zlib otherwise. Both write standard raw
 * deflate that any reader inflates (ours reads with node:zlib); the bytes
 * differ between the two, the records do not.
 *
 * Why: on the archive's blocks of Post records libdeflate level 1 costs about
 * 0.55x of zlib level 1's CPU for 1.3% smaller output (BENCHMARKS.md, archive
 * round 9), and deflate is most of what the archive sink adds to a bare
 * consume loop. libdeflate compresses a whole buffer per call (no streams),
 * which is how container blocks are compressed anyway; it has no zlib
 * strategies, so the huffman and rle strategies stay on zlib.
 *
 * The addon's per-thread state (one compressor per level, one output scratch)
 * is freed with the thread.
 */
import { deflateRawSync } from 'node:zlib';
import { ConfigError } from '../common/errors.js';
import { nativeAddon, nativeAddonStatus } from './nativeAddon.js';

/** The library that deflates container blocks. */
export type DeflateEngine = 'libdeflate' | 'zlib';
/** A choice of {@link DeflateEngine}; 'auto' is libdeflate where its addon is built (and the strategy is zlib's default), else zlib. */
export type DeflateEngineChoice = DeflateEngine | 'auto';
export const DEFLATE_ENGINE_CHOICES: readonly DeflateEngineChoice[] = ['auto', 'libdeflate', 'zlib'];

/** What deflateBlock needs: the engine, the level, and (zlib only) memLevel and strategy. */
export interface DeflateParams {
  engine: DeflateEngine;
  level: number;
  memLevel: number;
  strategy: number;
}

/**
 * The engine for a choice: 'auto' is libdeflate when the addon loads and `zlibOnly` is false
 * (a zlib strategy other than the default was asked for), else zlib. An explicit 'libdeflate'
 * that cannot be had is a ConfigError saying why and what to do.
 */
export function resolveDeflateEngine(choice: DeflateEngineChoice, zlibOnly: boolean): DeflateEngine {
  if (!DEFLATE_ENGINE_CHOICES.includes(choice)) throw new ConfigError(`container deflate engine must be one of ${DEFLATE_ENGINE_CHOICES.join(', ')}, got ${JSON.stringify(choice)}`);
  if (choice === 'zlib') return 'zlib';
  const status = nativeAddonStatus();
  const available = status.available;
  if (choice === 'auto') return available && !zlibOnly ? 'libdeflate' : 'zlib';
  if (zlibOnly) throw new ConfigError('container deflate engine libdeflate has no strategies: use the default strategy, or engine zlib for huffman or rle');
  if (!available) throw new ConfigError(`container deflate engine libdeflate: its addon is ${status.reason ?? 'missing'}; build it with bash deploy/native/build-native-addon.sh (needs libdeflate-dev), or use engine auto or zlib`);
  return 'libdeflate';
}

/** `raw` as raw deflate, on the calling thread. */
export function deflateBlock(raw: Uint8Array, p: DeflateParams): Buffer {
  if (p.engine === 'libdeflate') {
    const a = nativeAddon();
    if (a === null) throw new ConfigError(`libdeflate's addon is ${nativeAddonStatus().reason ?? 'missing'}`);
    return a.deflateRaw(raw, p.level);
  }
  return deflateRawSync(raw, { level: p.level, memLevel: p.memLevel, strategy: p.strategy });
}

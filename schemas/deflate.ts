/**
 * Raw DEFLATE (RFC 1951) of one container block, for the deflate codec of
 * schemas/container.ts: libdeflate through the small addon of schemas/native
 * (built by deploy/native/build-deflate-addon.sh, libdeflate statically
 * linked) where it is built, node:zlib otherwise. Both write standard raw
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
 * The addon is loaded once per thread (main or worker), on first use; its
 * per-thread state (one compressor per level, one output scratch) is freed
 * with the thread.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { ConfigError } from '../common/errors.js';

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

interface Addon {
  deflateRaw(input: Uint8Array, level: number): Buffer;
}

/** Where the addon is built (from dist/schemas/deflate.js or schemas/deflate.ts alike: two levels up is the package). */
export const DEFLATE_ADDON_PATH = fileURLToPath(new URL('../../schemas/native/build/Release/mentionflow_deflate.node', import.meta.url));

let addon: Addon | null | undefined;
let addonError = '';

function loadAddon(): Addon | null {
  if (addon !== undefined) return addon;
  try {
    const loaded = createRequire(import.meta.url)(DEFLATE_ADDON_PATH) as Partial<Addon>;
    if (typeof loaded.deflateRaw !== 'function') throw new Error('no deflateRaw export');
    addon = loaded as Addon;
  } catch (err) {
    addon = null;
    const e = err as NodeJS.ErrnoException;
    addonError = e.code === 'MODULE_NOT_FOUND' ? `not built (${DEFLATE_ADDON_PATH})` : `failed to load: ${e.message}`;
  }
  return addon;
}

/** Whether libdeflate's addon loads in this process, and if not, why. */
export function libdeflateStatus(): { available: boolean; reason?: string } {
  return loadAddon() !== null ? { available: true } : { available: false, reason: addonError };
}

/**
 * The engine for a choice: 'auto' is libdeflate when the addon loads and `zlibOnly` is false
 * (a zlib strategy other than the default was asked for), else zlib. An explicit 'libdeflate'
 * that cannot be had is a ConfigError saying why and what to do.
 */
export function resolveDeflateEngine(choice: DeflateEngineChoice, zlibOnly: boolean): DeflateEngine {
  if (!DEFLATE_ENGINE_CHOICES.includes(choice)) throw new ConfigError(`container deflate engine must be one of ${DEFLATE_ENGINE_CHOICES.join(', ')}, got ${JSON.stringify(choice)}`);
  if (choice === 'zlib') return 'zlib';
  const available = loadAddon() !== null;
  if (choice === 'auto') return available && !zlibOnly ? 'libdeflate' : 'zlib';
  if (zlibOnly) throw new ConfigError('container deflate engine libdeflate has no strategies: use the default strategy, or engine zlib for huffman or rle');
  if (!available) throw new ConfigError(`container deflate engine libdeflate: its addon is ${addonError}; build it with bash deploy/native/build-deflate-addon.sh (needs libdeflate-dev), or use engine auto or zlib`);
  return 'libdeflate';
}

/** `raw` as raw deflate, on the calling thread. */
export function deflateBlock(raw: Uint8Array, p: DeflateParams): Buffer {
  if (p.engine === 'libdeflate') {
    const a = loadAddon();
    if (a === null) throw new ConfigError(`libdeflate's addon is ${addonError}`);
    return a.deflateRaw(raw, p.level);
  }
  return deflateRawSync(raw, { level: p.level, memLevel: p.memLevel, strategy: p.strategy });
}

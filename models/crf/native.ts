/**
 * The CRF's decoders in C (schemas/native/crf.c: Viterbi and the scaled
 * forward-backward recursions), used by ./viterbi.ts and
 * ./forwardBackward.ts where mentionflow's addon loads. They compute the
 * TypeScript loops' numbers bit for bit (the same float64 operations in the
 * same order, and V8's exp and log), 4.4x as fast on a 54-character
 * sentence (BENCHMARKS.md, "Limits", round 7); where the addon is not built the
 * TypeScript loops run.
 */
import { nativeAddon, type NativeAddon } from '../../schemas/nativeAddon.js';

let enabled = true;

/** Turns the C decoders off (false: the TypeScript loops) or back on; for tests and benchmarks. */
export function useNativeCrf(on: boolean): void {
  enabled = on;
}

/** The C decoders when they are on and the addon loads, else null. */
export function nativeCrf(): Pick<NativeAddon, 'crfViterbi' | 'crfForwardBackward'> | null {
  return enabled ? nativeAddon() : null;
}

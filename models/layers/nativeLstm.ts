/**
 * The LSTM at inference in C (schemas/native/lstm.c, AVX-512 or AVX2): each sentence of
 * a packed batch runs alone from the zero state, all of them stepping together,
 * with no padding and no separator computed. LstmEncoder's inference paths
 * (apply, applyPacked) take it where it runs, and so does a whole head's
 * emissions in one call (models/network/nativeHead.ts); elsewhere TensorFlow's
 * BlockLSTM runs (blockLstm.ts). Both compute `recurrence` in lstm.ts, to float32 rounding:
 * the C kernel sums in another order and has its own exp (about 2 ulp), so
 * hidden states differ from BlockLSTM's by about 1e-6
 * (test/models/layers/nativeLstm.test.ts). Needs mentionflow's addon
 * (deploy/native/build-native-addon.sh), a CPU with AVX-512F or with AVX2
 * and FMA (the engines, NATIVE_ENGINES; both give the same bits), and the
 * native TensorFlow backend (the one packing runs on).
 *
 * Shapes: weights as the LstmEncoder's variables, w [dirs, D, 4H], u [dirs, H,
 * 4H], b [dirs, 4H] (gate order i, f, o, g); x [N, D] -> [N, dirs * H],
 * forward states then backward.
 */
import type * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../common/errors.js';
import { nativeAddon, nativeAddonStatus } from '../../schemas/nativeAddon.js';
import { nativeBackend } from './nativeOps.js';
import { INFERENCE_PRECISIONS, type InferencePrecision } from './precision.js';

let enabled = true;

/** Turns the C kernel off (false: BlockLSTM) or back on; for tests and benchmarks. On by default. */
export function useNativeLstm(on: boolean): void {
  enabled = on;
}

/** The C kernel's engines, fastest first: the instruction sets it runs on (float32 products on both, bfloat16 and int8 on avx512 only). */
export const NATIVE_ENGINES = ['avx512', 'avx2'] as const;
/** One of NATIVE_ENGINES. */
export type NativeEngine = (typeof NATIVE_ENGINES)[number];

/** The engines this CPU runs the C kernel on, fastest first; empty where the addon is not loaded or the CPU runs none. */
export function nativeEngines(): NativeEngine[] {
  return nativeAddon()?.lstmEngines() ?? [];
}

/** The engine the C kernel runs on in this thread, or null where it runs on none. */
export function nativeEngine(): NativeEngine | null {
  return nativeAddon()?.lstmEngine() ?? null;
}

/**
 * For tests and benchmarks: the C kernel's engine in this thread from now on
 * ('auto', the default: the fastest this CPU runs; without the addon, nothing to do). ConfigError for an engine
 * this CPU cannot run, or for one without bfloat16 or int8 products while the
 * precision is one of those.
 */
export function useNativeEngine(engine: NativeEngine | 'auto'): void {
  const addon = nativeAddon();
  if (addon === null && engine === 'auto') return;
  if (addon === null) throw new ConfigError(`the C kernel's engine cannot be chosen: mentionflow's addon is not loaded (${nativeAddonStatus().reason})`);
  if (engine !== 'auto' && !NATIVE_ENGINES.includes(engine)) throw new ConfigError(`engine must be auto or one of ${NATIVE_ENGINES.join(', ')}, got ${JSON.stringify(engine)}`);
  if (engine !== 'auto' && !addon.lstmEngines().includes(engine)) throw new ConfigError(`the C kernel's ${engine} engine cannot run here: this CPU runs ${addon.lstmEngines().join(', ') || 'none'}`);
  // bfloat16 and int8 run on avx512 alone (and 'auto' picks avx512 where they run).
  if (precision !== 'float32' && engine === 'avx2') throw new ConfigError(`the C kernel's avx2 engine has no ${precision} products: set precision float32 first`);
  addon.lstmUseEngine(engine);
}

export { INFERENCE_PRECISIONS, type InferencePrecision } from './precision.js';

let precision: InferencePrecision = 'float32';

/**
 * The precision of the LSTM's products at inference in this thread: float32
 * (the default); bfloat16, where the C kernel runs on a CPU with AVX512_BF16
 * and its avx512 engine (inputs and weights rounded to bfloat16, products
 * summed in float32: about twice the products per instruction; on the
 * shipped model the same dev F1 and spans, emissions within 0.014,
 * BENCHMARKS.md "Limits", round 8); or int8, where the CPU has AVX512_VNNI
 * (dynamic quantisation: the weights per column and each step's inputs and
 * states per row to 8 bits, products summed in int32: four times the
 * products per instruction of float32; on the shipped model dev F1 within
 * 0.2 of float32, "Limits", round 11). Call after useBackend. ConfigError
 * (with why) for a precision that cannot run here, or one that is not one of
 * INFERENCE_PRECISIONS.
 */
export function useInferencePrecision(wanted: InferencePrecision): void {
  if (!INFERENCE_PRECISIONS.includes(wanted)) throw new ConfigError(`precision must be one of ${INFERENCE_PRECISIONS.join(', ')}, got ${JSON.stringify(wanted)}`);
  if (wanted !== 'float32') {
    const why = reducedUnavailable(wanted);
    if (why !== undefined) throw new ConfigError(`precision ${wanted} cannot run here: ${why}; use precision float32`);
  }
  precision = wanted;
}

/** Why bfloat16 or int8 products cannot run in this thread, or undefined when they can: the C kernel's own reasons, after the CPU's. */
function reducedUnavailable(wanted: 'bfloat16' | 'int8'): string | undefined {
  const addon = nativeAddon();
  const engine = addon?.lstmEngine() ?? null;
  const feature = wanted === 'bfloat16' ? 'AVX512_BF16' : 'AVX512_VNNI';
  if (addon !== null && engine === null) return `this CPU lacks AVX-512F and ${feature}`;
  const runs = addon === null || (wanted === 'bfloat16' ? addon.lstmBf16() : addon.lstmInt8());
  if (!runs) return engine === 'avx2' && addon!.lstmEngines().includes('avx512') ? `the C kernel's avx2 engine is in use (useNativeEngine), and ${wanted} products need avx512` : `this CPU lacks ${feature}`;
  return nativeUnavailable();
}

/** The precision of the LSTM's products at inference in this thread (useInferencePrecision). */
export function inferencePrecision(): InferencePrecision {
  return precision;
}

/** The LstmEncoder's weights in the C kernels' layout (lstmPrepare), for one weights version, and their sizes. */
export interface NativeLstmWeights {
  prepared: Float32Array;
  /** [D, H, dirs]. */
  dims: Int32Array;
}

/**
 * Packs the LstmEncoder's variables' values (w [dirs, D, 4H], u [dirs, H,
 * 4H], b [dirs, 4H]) into the C kernels' layout: done once per weights
 * version (LstmEncoder keeps it), so that no call repacks them.
 */
export function nativeLstmPrepare(w: Float32Array, u: Float32Array, b: Float32Array, inputDim: number, hiddenDim: number): NativeLstmWeights {
  const addon = nativeAddon();
  if (addon === null) throw new Error("nativeLstmPrepare needs mentionflow's addon (bash deploy/native/build-native-addon.sh)");
  const dims = Int32Array.of(inputDim, hiddenDim, b.length / (4 * hiddenDim));
  return { prepared: addon.lstmPrepare(w, u, b, dims), dims };
}

const hostCopies = new WeakMap<object, Float32Array>();

/**
 * A float32 variable's values in host memory, read once per value: keyed on
 * its dataId, which every assign replaces (optimizer steps, artifact loading,
 * weight averaging), so a stale copy is never returned, and dropped with the
 * old dataId. Read-only by contract: the C kernels only read them.
 */
export function hostValues(v: tf.Variable): Float32Array {
  let values = hostCopies.get(v.dataId);
  if (values === undefined) {
    values = v.dataSync() as Float32Array;
    hostCopies.set(v.dataId, values);
  }
  return values;
}

/** True where the C kernel runs: switched on, the addon loads, the CPU has AVX-512F or AVX2 and FMA, the native backend is active. */
export function nativeLstmAvailable(): boolean {
  return nativeUnavailable() === undefined;
}

/** Why the C kernel does not run in this thread, or undefined when it does. */
function nativeUnavailable(): string | undefined {
  const addon = nativeAddon();
  if (addon === null) return `mentionflow's addon is not loaded (${nativeAddonStatus().reason}; bash deploy/native/build-native-addon.sh)`;
  if (addon.lstmEngine() === null) return 'this CPU has neither AVX-512F nor AVX2 and FMA';
  if (nativeBackend() === undefined) return 'the native TensorFlow backend is not active (backend native)';
  if (!enabled) return 'the C kernel is switched off (useNativeLstm(false))';
  return undefined;
}

/** How a model's LSTM runs at inference in this thread (inferenceEngine). */
export interface InferenceEngine {
  /** The C kernel on one of its engines, or TensorFlow (BlockLSTM and tfjs ops). */
  runsOn: `c-${NativeEngine}` | 'tensorflow';
  /** The products' precision (useInferencePrecision). */
  precision: InferencePrecision;
  /** With runsOn 'tensorflow': why the C kernel does not run here, and what to do. */
  why?: string;
}

/**
 * Where a model's LSTM runs at inference in this thread, for the worker's
 * start-up log and reports: the C kernel's engine (about twice BlockLSTM's
 * characters per CPU-second on AVX-512), or TensorFlow and why.
 */
export function inferenceEngine(): InferenceEngine {
  const precision = inferencePrecision();
  const why = nativeUnavailable();
  const engine = nativeEngine();
  return why === undefined && engine !== null ? { runsOn: `c-${engine}`, precision } : { runsOn: 'tensorflow', precision, why };
}

/**
 * Hidden states [N * dirs * H] of the packed sentences (sentence j: rows
 * starts[j] .. starts[j] + lengths[j] - 1 of x [N * D]).
 */
export function nativeLstmPacked(weights: NativeLstmWeights, x: Float32Array, starts: Int32Array, lengths: Int32Array): Float32Array {
  const addon = nativeAddon();
  if (addon === null) throw new Error("nativeLstmPacked needs mentionflow's addon (bash deploy/native/build-native-addon.sh)");
  const [d, h, dirs] = weights.dims;
  const out = new Float32Array((x.length / d) * dirs * h);
  if (x.length === 0) return out;
  addon.lstmPacked(weights.prepared, x, starts, lengths, weights.dims, out);
  return out;
}

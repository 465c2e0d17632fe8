/**
 * mentionflow's native addon (schemas/native: addon.c, deflate.c, postscan.c, crf.c, lstm.c), loaded once per
 * thread (main or worker) on first use: libdeflate and ISA-L for the container's deflate codec
 * (schemas/deflate.ts), the archive sink's Post check of a fetched batch (schemas/postScan.ts), and
 * the tagger's CRF decoders (models/crf/native.ts) and its LSTM at inference (models/layers/nativeLstm.ts), and the
 * CPU's features for the native TensorFlow backend's check (models/backend.ts).
 * Built by deploy/native/build-native-addon.sh (deploy/install.sh and the image run it); where it
 * is not built, its callers take their TypeScript paths (node:zlib, the TypeScript scan, the
 * TypeScript decoders, TensorFlow's BlockLSTM), which give the same results (the LSTM's to float32 rounding).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** What the addon exports (shapes in schemas/native/native.h). */
export interface NativeAddon {
  /** Raw deflate of the whole input with libdeflate at `level` (1..12), as a Buffer of exact size. */
  deflateRaw(input: Uint8Array, level: number): Buffer;
  /** Raw deflate of the whole input with ISA-L's igzip at `level` (0..3); throws when {@link isalStatus} is not null. */
  isalDeflateRaw(input: Uint8Array, level: number): Buffer;
  /** null when ISA-L (libisal.so.2, opened at run time) deflates in this process, else why not. */
  isalStatus(): string | null;
  /**
   * postscan.c's verdict on each record data[starts[i], ends[i]) (0 ok, 1 slow, 2 blank id,
   * 3 ask trim, 255 unsure) into status[i], and for 0 and 3 its created_at into createdAt[i].
   */
  checkPosts(data: ArrayBuffer, starts: Uint32Array, ends: Uint32Array, status: Uint8Array, createdAt: Float64Array): void;
  /** The same verdict on one record, the whole of `value`; for 0 and 3 its created_at into createdAt[0]. */
  checkPost(value: Uint8Array, createdAt: Float64Array): number;
  /** For tests: the UTF-8 check checkPosts runs on a string (simdutf from 16 bytes where Node exports it), or with `scalar` postscan.c's own alone. */
  utf8Check(input: Uint8Array, scalar: boolean): boolean;
  /** Which validator checkPosts uses for strings of 16 bytes or more: Node's simdutf, found at run time, or postscan.c's own. */
  utf8Engine(): 'simdutf' | 'scalar';
  /**
   * crf.c's Viterbi over one sentence's emissions data[offset, offset + length*K) (length >= 1; K = start.length,
   * trans [K*K] from * K + to): the best path into path[0, length), its score returned (models/crf/viterbi.ts).
   */
  crfViterbi(trans: Float32Array, start: Float32Array, end: Float32Array, data: Float32Array, offset: number, length: number, path: Int32Array): number;
  /**
   * crf.c's scaled forward-backward recursions over the same input, given expT [K*K], the exp of the transition
   * scores: the scaled vectors aS and bS [length*K] and log scales aLog and bLog [length] filled, logZ returned
   * (models/crf/forwardBackward.ts).
   */
  crfForwardBackward(
    expT: Float64Array,
    start: Float32Array,
    end: Float32Array,
    data: Float32Array,
    offset: number,
    length: number,
    aS: Float64Array,
    aLog: Float64Array,
    bS: Float64Array,
    bLog: Float64Array,
  ): number;
  /** For tests: the exp (which 0) or log (1) crf.c computes with, fdlibm's as V8's Math.exp and Math.log. */
  crfMath(which: 0 | 1, x: number): number;
  /**
   * lstm.c's weights of the LSTM in its kernels' layout, made once per weights version (models/layers/lstm.ts keeps it): w
   * [dirs*D*4H], u [dirs*H*4H] and b [dirs*4H] the LstmEncoder's variables, dims [D, H, dirs]. Throws where {@link lstmEngine} is null.
   */
  lstmPrepare(w: Float32Array, u: Float32Array, b: Float32Array, dims: Int32Array): Float32Array;
  /**
   * lstm.c's (Bi)LSTM over the sentences of a packed batch (models/layers/nativeLstm.ts): prepared (lstmPrepare's, same dims),
   * x [N*D] the characters' inputs, sentence j at rows starts[j] for lengths[j], dims [D, H, dirs]; out [N*dirs*H] receives the
   * hidden states, forward then backward. Throws where {@link lstmEngine} is null.
   */
  lstmPacked(prepared: Float32Array, x: Float32Array, starts: Int32Array, lengths: Int32Array, dims: Int32Array, out: Float32Array): void;
  /**
   * lstm.c's emissions of a CRF head over the same sentences (models/network/nativeHead.ts): out [N*K] = [h, e] linW + linB + the sum of
   * lex's rows at each position's F feature ids, e the rows of emb [V*D] at ids [N], h the LSTM's states (prepared as lstmPacked's, empty
   * when useHidden is 0); dims [D, H, dirs, K, F, useHidden, useEmbeddings, precision] (useHidden and useEmbeddings 0 or 1;
   * precision of the LSTM's products: 0 float32, 1 bfloat16 where lstmBf16(), 2 int8 where lstmInt8()), linW [I*K] with
   * I = useHidden*dirs*H + useEmbeddings*D. Throws where {@link lstmEngine} is null.
   */
  emissionsPacked(
    emb: Float32Array,
    prepared: Float32Array,
    linW: Float32Array,
    linB: Float32Array,
    lex: Float32Array,
    ids: Int32Array,
    feats: Int32Array,
    starts: Int32Array,
    lengths: Int32Array,
    dims: Int32Array,
    out: Float32Array,
  ): void;
  /** Whether emissionsPacked can compute the LSTM's products in bfloat16 (dims[7] = 1): AVX512_BF16, and this thread's engine is avx512. */
  lstmBf16(): boolean;
  /** Whether emissionsPacked can compute the LSTM's products in int8 (dims[7] = 2): AVX512_VNNI, and this thread's engine is avx512. */
  lstmInt8(): boolean;
  /**
   * The engine (instruction set) lstmPrepare, lstmPacked and emissionsPacked run on in this thread: the fastest this CPU runs, or the
   * one lstmUseEngine chose; null where the CPU has neither AVX-512F nor AVX2 and FMA.
   */
  lstmEngine(): 'avx512' | 'avx2' | null;
  /** The engines this CPU runs, fastest first (empty where none). */
  lstmEngines(): ('avx512' | 'avx2')[];
  /**
   * For tests and benchmarks: this thread's engine from now on ("auto": the fastest this CPU runs), returned. Error (ERR_UNSUPPORTED)
   * for an engine this CPU cannot run; lstmPrepare's output stays valid across engines.
   */
  lstmUseEngine(engine: 'avx512' | 'avx2' | 'auto'): 'avx512' | 'avx2' | null;
  /**
   * Which of "sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bf16", "avx512vnni" this CPU has with its OS's
   * support (CPUID and XGETBV): what this process can execute, also under an emulated or masked CPU model.
   */
  cpuFeatures(): string[];
}

/** Where the addon is built (from dist/schemas/ or schemas/ alike: two levels up is the package). */
export const NATIVE_ADDON_PATH = fileURLToPath(new URL('../../schemas/native/build/Release/mentionflow_native.node', import.meta.url));

let addon: NativeAddon | null | undefined;
let loadError = '';

/** The addon, or null when it is not built or does not load ({@link nativeAddonStatus} says why). */
export function nativeAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  try {
    const loaded = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as Partial<NativeAddon>;
    const missing = (['deflateRaw', 'isalDeflateRaw', 'isalStatus', 'checkPosts', 'checkPost', 'utf8Check', 'utf8Engine', 'crfViterbi', 'crfForwardBackward', 'crfMath', 'lstmPrepare', 'lstmPacked', 'emissionsPacked', 'lstmEngine', 'lstmBf16', 'lstmInt8', 'lstmEngines', 'lstmUseEngine', 'cpuFeatures'] as const).filter((f) => typeof loaded[f] !== 'function');
    if (missing.length > 0) throw new Error(`${missing.join(', ')} missing: an older build, rebuild it with bash deploy/native/build-native-addon.sh`);
    addon = loaded as NativeAddon;
  } catch (err) {
    addon = null;
    const e = err as NodeJS.ErrnoException;
    loadError = e.code === 'MODULE_NOT_FOUND' ? `not built (${NATIVE_ADDON_PATH})` : `failed to load: ${e.message}`;
  }
  return addon;
}

/** Whether the addon loads in this process, and if not, why. */
export function nativeAddonStatus(): { available: boolean; reason?: string } {
  return nativeAddon() !== null ? { available: true } : { available: false, reason: loadError };
}

/**
 * Compute backend selection. The tagger runs on the native TensorFlow backend
 * (@tensorflow/tfjs-node over libtensorflow) by default; the WASM and pure-JS
 * backends remain as fallbacks, chosen explicitly or automatically with a
 * warning, for inference on machines where libtensorflow is not installed
 * (see deploy/native/README.md for the offline install).
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../common/errors.js';
import { nativeAddon } from '../schemas/nativeAddon.js';

/** A tfjs compute backend: native TensorFlow, WebAssembly or plain JavaScript. */
export type BackendName = 'native' | 'wasm' | 'cpu';
/** A backend to use, or 'auto' (native, else WASM, else JS). */
export type BackendChoice = BackendName | 'auto';

/** tfjs's registry names for our backend names. */
const TFJS_NAME: Record<BackendName, string> = { native: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

/** Every accepted BackendChoice. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'native', 'wasm', 'cpu'];

let active: BackendName | undefined;

/**
 * Why libtensorflow cannot run on this CPU, or undefined when it can or this
 * cannot be told. The x86-64 libtensorflow that tfjs-node loads is compiled
 * for AVX. On a CPU without it (or a VM whose CPU model hides it, such as
 * QEMU's default qemu64) loading it kills the process with SIGILL, an
 * illegal instruction that no try/catch sees; so the native backend is
 * refused before the load, and `auto` goes on to WASM.
 */
export function tensorflowCpuProblem(features: readonly string[] | undefined = cpuFeatures()): string | undefined {
  if (features === undefined || features.includes('avx')) return undefined;
  return 'this CPU lacks AVX, which libtensorflow is compiled for (loading it would stop the process with an illegal instruction)';
}

/** /proc/cpuinfo's names for the features whose cpuFeatures name differs. */
const CPUINFO_NAMES: Readonly<Record<string, string>> = { sse4_2: 'sse4.2', avx512_bf16: 'avx512bf16', avx512_vnni: 'avx512vnni' };

/**
 * The x86-64 CPU's features as mentionflow's addon reads them (CPUID and
 * XGETBV: what this process can execute, also under an emulated CPU model),
 * else the kernel's /proc/cpuinfo flags; undefined on other architectures or
 * when neither can be read.
 */
export function cpuFeatures(): readonly string[] | undefined {
  if (process.arch !== 'x64') return undefined;
  const addon = nativeAddon();
  if (addon !== null) return addon.cpuFeatures();
  try {
    const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    return flags?.trim().split(/\s+/).map((flag) => CPUINFO_NAMES[flag] ?? flag);
  } catch {
    return undefined;
  }
}

async function tryLoad(name: BackendName): Promise<string | undefined> {
  try {
    if (name === 'native') {
      const cpu = tensorflowCpuProblem();
      if (cpu !== undefined) return cpu;
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
      await import('@tensorflow/tfjs-node');
    } else if (name === 'wasm') {
      await import('@tensorflow/tfjs-backend-wasm');
    }
    const ok = await tf.setBackend(TFJS_NAME[name]);
    if (!ok) return `tfjs could not initialise the ${name} backend`;
    await tf.ready();
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

/**
 * Activates a backend. `auto` tries native, then WASM, then JS, and warns on
 * stderr (via `warn`) when it falls back. An explicit choice that fails throws
 * a BackendError with the reason and the fix.
 */
export async function useBackend(
  choice: BackendChoice = 'auto',
  warn: (msg: string) => void = (m) => process.stderr.write(`warning: ${m}\n`),
): Promise<BackendName> {
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new BackendError(`unknown backend "${choice}"; choose one of ${BACKEND_CHOICES.join(', ')}`);
  }
  if (choice !== 'auto') {
    const reason = await tryLoad(choice);
    if (reason !== undefined) {
      const fix =
        choice !== 'native'
          ? ''
          : tensorflowCpuProblem() !== undefined
            ? ' Pass --backend wasm (or cpu) on this machine, or run it on a CPU with AVX.'
            : ' Install libtensorflow offline with `bash deploy/native/install-libtensorflow.sh`, or pass --backend wasm|cpu.';
      throw new BackendError(`backend "${choice}" is not available: ${reason}.${fix}`);
    }
    active = choice;
    return choice;
  }
  const failures: string[] = [];
  for (const name of ['native', 'wasm', 'cpu'] as const) {
    const reason = await tryLoad(name);
    if (reason === undefined) {
      if (failures.length > 0) warn(`falling back to the ${name} backend (${failures.join('; ')}); tagging and training will be slower`);
      active = name;
      return name;
    }
    failures.push(`${name}: ${reason}`);
  }
  throw new BackendError(`no tfjs backend could be initialised: ${failures.join('; ')}`);
}

/**
 * A streaming worker computes on one TensorFlow thread unless the operator
 * set TF_NUM_INTRAOP_THREADS: one worker per core is the deployment unit
 * (BENCHMARKS.md, capacity model), a pool of two threads on two cores made
 * the event loop (Kafka I/O, Avro, RxJS) compete with it, and for this model
 * one thread is faster even alone. Measured side by side on 2 cores, inline
 * tagging: 1,445 vs 1,220 posts/s, p99 at 50% load 136 vs 157 ms. Call before
 * the native backend starts (TensorFlow reads it once); training keeps the
 * default pool.
 */
export function preferOneComputeThread(): void {
  process.env.TF_NUM_INTRAOP_THREADS ??= '1';
}

/** The backend activated by useBackend, or tfjs's current one. */
export function activeBackend(): BackendName {
  if (active !== undefined) return active;
  const name = tf.getBackend();
  return name === 'tensorflow' ? 'native' : (name as BackendName);
}

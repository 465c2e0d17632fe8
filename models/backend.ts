/**
 * Compute backend selection. The tagger runs on the native TensorFlow backend
 * (@tensorflow/tfjs-node over libtensorflow) by default; the WASM and pure-JS
 * backends remain as fallbacks, chosen explicitly or automatically with a
 * warning, for inference on machines where libtensorflow is not installed
 * (see deploy/native/README.md for the offline install).
 */
import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../common/errors.js';

/** A tfjs compute backend: native TensorFlow, WebAssembly or plain JavaScript. */
export type BackendName = 'native' | 'wasm' | 'cpu';
/** A backend to use, or 'auto' (native, else WASM, else JS). */
export type BackendChoice = BackendName | 'auto';

/** tfjs's registry names for our backend names. */
const TFJS_NAME: Record<BackendName, string> = { native: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

/** Every accepted BackendChoice. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'native', 'wasm', 'cpu'];

let active: BackendName | undefined;

async function tryLoad(name: BackendName): Promise<string | undefined> {
  try {
    if (name === 'native') {
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
      const fix = choice === 'native' ? ' Install libtensorflow offline with `bash deploy/native/install-libtensorflow.sh`, or pass --backend wasm|cpu.' : '';
      throw new BackendError(`backend "${choice}" is not available: ${reason}.${fix}`);
    }
    active = choice;
    return choice;
  }
  const failures: string[] = [];
  for (const name of ['native', 'wasm', 'cpu'] as const) {
    const reason = await tryLoad(name);
    if (reason === undefined) {
      if (failures.length > 0) warn(`falling back to the ${name} backend (${failures.join('; ')}); training will be slow`);
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

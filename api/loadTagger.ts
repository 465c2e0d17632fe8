/**
 * The two-line way in: load a model artifact and get a tagger.
 *
 *   const tagger = await loadTagger();
 *   const [mentions] = await tagger.tag(['我在北京见到了张三']);
 */
import { type InferencePrecision, useInferencePrecision } from '../models/layers/nativeLstm.js';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../common/errors.js';
import { BACKEND_CHOICES, useBackend, type BackendChoice } from '../models/backend.js';
import { NeuralTagger } from '../models/tagger.js';
import { TaggerModel } from '../models/taggerModel.js';

/** Options of {@link loadTagger}. */
export interface LoadTaggerOptions {
  /** Model artifact directory (manifest.json + weights.bin). Default: {@link defaultModelDir}. */
  model?: string;
  /**
   * Compute backend: 'native' (TensorFlow through @tensorflow/tfjs-node),
   * 'wasm', 'cpu', or 'auto' (default: native, else WASM, else JS, with a
   * warning through `onWarning` when it falls back).
   */
  backend?: BackendChoice;
  /**
   * The LSTM's precision at inference: 'float32' (default), 'bfloat16'
   * (the native backend on a CPU with AVX512_BF16 and mentionflow's addon;
   * about 1.2x the characters per CPU-second, the same dev F1 on the shipped
   * model) or 'int8' (the same with AVX512_VNNI; about 1.5x, dev F1 within
   * 0.2 of float32 on the shipped model); a ConfigError where it cannot run.
   * It applies to the calling thread's inference.
   */
  precision?: InferencePrecision;
  /** Rows per tensor batch (one sentence per row, or several when packed). Default 64. */
  batchSize?: number;
  /**
   * Most character positions computed before a call returns to the event
   * loop; 0 computes each call in one run. Default 2048 (see
   * NeuralTaggerOptions.sliceChars).
   */
  sliceChars?: number;
  /** Where a backend fallback warning goes. Default: a `warning: ...` line on stderr. */
  onWarning?: (message: string) => void;
}

/**
 * The model shipped with the package (models/default: WeiboNER labels,
 * PER/ORG/LOC/GPE x NAM/NOM; for non-commercial research and education use,
 * see its MODEL_CARD.md), or `$MENTIONFLOW_MODEL` when set.
 */
export function defaultModelDir(): string {
  return process.env.MENTIONFLOW_MODEL ?? fileURLToPath(new URL('../../models/default', import.meta.url));
}

/**
 * Activates a compute backend, loads a model artifact and returns a tagger
 * for it. Call `tagger.dispose()` when done to free the model's tensors.
 *
 * Throws a ConfigError for a bad option, a BackendError when the chosen
 * backend cannot start, a ModelArtifactError when the artifact is missing or
 * corrupt.
 */
export async function loadTagger(options: LoadTaggerOptions = {}): Promise<NeuralTagger> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('loadTagger: options must be an object, e.g. { model: "models/default" }');
  const { model = defaultModelDir(), backend = 'auto', precision = 'float32', batchSize, sliceChars, onWarning } = options;
  if (typeof model !== 'string' || model === '') throw new ConfigError(`loadTagger: model must be a directory path, got ${JSON.stringify(model)}`);
  if (!BACKEND_CHOICES.includes(backend)) throw new ConfigError(`loadTagger: backend must be one of ${BACKEND_CHOICES.join(', ')}, got ${JSON.stringify(backend)}`);
  if (onWarning !== undefined && typeof onWarning !== 'function') throw new ConfigError('loadTagger: onWarning must be a function (message) => void');
  await useBackend(backend, onWarning);
  useInferencePrecision(precision);
  const loaded = await TaggerModel.load(model);
  try {
    return new NeuralTagger(loaded.model, { batchSize, sliceChars });
  } catch (err) {
    loaded.model.dispose();
    throw err;
  }
}

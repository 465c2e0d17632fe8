/**
 * What ThreadTagger (models/threadTagger.ts) and its inference thread
 * (models/threadTaggerWorker.ts) say to each other: texts in, mentions out
 * (as flat arrays, see PackedMentions),
 * each request with an id, and errors as plain data that is turned back into
 * an instance of the same class on the other side (structured clone keeps
 * only a few built-in error classes and drops the project's ones).
 */
import {
  BackendError,
  ConfigError,
  CorpusFormatError,
  DecodeError,
  KafkaEdgeError,
  MentionflowError,
  ModelArtifactError,
  TaggingError,
} from '../common/errors.js';
import type { BackendChoice, BackendName } from './backend.js';
import type { InferenceEngine, InferencePrecision } from './layers/nativeLstm.js';
import { labelFields, type Mention } from './mention.js';

/** The thread's workerData. */
export interface ThreadInit {
  modelDir: string;
  backend: BackendChoice;
  /** The LSTM's precision at inference (models/layers/nativeLstm.ts useInferencePrecision); unset: float32. */
  precision?: InferencePrecision;
  /** NeuralTagger's batchSize (rows per tensor batch); unset: its default. */
  batchSize?: number;
  /** NeuralTagger's sliceChars (most character positions per step); unset: its default. */
  sliceChars?: number;
  /** Test hook: the thread exits with code 7 when asked to tag this exact text. */
  exitOnText?: string;
}

export interface TensorMemory {
  /** tf.memory().numTensors in the thread. */
  numTensors: number;
  /** tf.memory().numBytes in the thread. */
  numBytes: number;
}

export type ToThread =
  /** `model`: which of the thread's models (0, the default: the one it opened with; else a number `loaded` gave). */
  | { type: 'tag'; id: number; texts: readonly string[]; model?: number }
  | { type: 'memory'; id: number }
  /** Load another artifact beside the models the thread has (for a hot swap without a new thread); answered `loaded` or `error`. */
  | { type: 'load'; id: number; modelDir: string }
  /** Dispose one model (after the requests before it); the thread stays. */
  | { type: 'unload'; model: number }
  /** Dispose the model, report the memory left, and end the thread (after the requests before it). */
  | { type: 'dispose' };

export type FromThread =
  /** `lstm`: where the model's LSTM runs in the thread (nativeLstm.ts inferenceEngine). */
  | { type: 'ready'; modelId: string; modelVersion: string; backend: BackendName; lstm: InferenceEngine }
  /** Loading failed; the thread ends. */
  | { type: 'failed'; error: WireError }
  /** `memory`: tf.memory() in the thread after the call. */
  | { type: 'tagged'; id: number; mentions: PackedMentions; memory: TensorMemory }
  | { type: 'memory'; id: number; memory: TensorMemory }
  | { type: 'loaded'; id: number; model: number; modelId: string; modelVersion: string; memory: TensorMemory }
  | { type: 'error'; id: number; error: WireError }
  /** A warning of the backend selection (e.g. a fallback from native). */
  | { type: 'warn'; message: string }
  | { type: 'disposed'; memory: TensorMemory };

/**
 * The mentions of one tag call as flat arrays, transferred rather than
 * cloned. A structured clone of one object per mention costs the receiving
 * (main) thread about 1-3 us per mention: 75-195 ms for the 60,624 mentions
 * of a 960,000-character post, all in one synchronous stretch; moving these
 * arrays costs next to nothing and unpacking them about a tenth of that. The
 * mention texts are not sent: the caller slices them from its own texts.
 */
export interface PackedMentions {
  /** Mentions per text [texts]. */
  counts: Int32Array;
  /** start, end, start_utf16, end_utf16 of each mention [4 * mentions]. */
  offsets: Int32Array;
  /** [mentions] */
  confidence: Float64Array;
  /** Index into `labels` of each mention [mentions]. */
  labelIds: Uint16Array;
  /** The distinct labels, e.g. "PER.NAM". */
  labels: string[];
}

/** Packs mentions for the wire; `transfer` lists the buffers to move with them. */
export function packMentions(mentions: readonly (readonly Mention[])[]): { packed: PackedMentions; transfer: ArrayBuffer[] } {
  const n = mentions.reduce((sum, ms) => sum + ms.length, 0);
  const packed: PackedMentions = { counts: Int32Array.from(mentions, (ms) => ms.length), offsets: new Int32Array(4 * n), confidence: new Float64Array(n), labelIds: new Uint16Array(n), labels: [] };
  const labelId = new Map<string, number>();
  let i = 0;
  for (const m of mentions.flat()) {
    packed.offsets.set([m.start, m.end, m.start_utf16, m.end_utf16], 4 * i);
    packed.confidence[i] = m.confidence;
    let id = labelId.get(m.label);
    if (id === undefined) labelId.set(m.label, (id = packed.labels.push(m.label) - 1));
    packed.labelIds[i++] = id;
  }
  return { packed, transfer: [packed.counts.buffer, packed.offsets.buffer, packed.confidence.buffer, packed.labelIds.buffer] as ArrayBuffer[] };
}

/** The mentions `packed` describes, their surface texts sliced from `texts` (the texts that were tagged). */
export function unpackMentions(packed: PackedMentions, texts: readonly string[]): Mention[][] {
  const fields = packed.labels.map((label) => labelFields(label));
  const { offsets, confidence, labelIds } = packed;
  let i = 0;
  return Array.from(packed.counts, (count, t) => {
    const out: Mention[] = new Array(count);
    for (let k = 0; k < count; k++, i++) {
      const start16 = offsets[4 * i + 2];
      const end16 = offsets[4 * i + 3];
      out[k] = { text: texts[t].slice(start16, end16), ...fields[labelIds[i]], start: offsets[4 * i], end: offsets[4 * i + 1], start_utf16: start16, end_utf16: end16, confidence: confidence[i] };
    }
    return out;
  });
}

/** An error as data. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  retriable?: boolean;
  /** ModelArtifactError's directory. */
  dir?: string;
  /** CorpusFormatError's file and line. */
  file?: string;
  line?: number;
  cause?: WireError;
}

const MAX_CAUSES = 4;

export function toWire(err: unknown, depth = 0): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const wire: WireError = { name: err.name, message: err.message, stack: err.stack };
  if (err instanceof MentionflowError) wire.retriable = err.retriable;
  if (err instanceof ModelArtifactError) wire.dir = err.dir;
  if (err instanceof CorpusFormatError) Object.assign(wire, { file: err.file, line: err.line });
  if (err.cause !== undefined && depth < MAX_CAUSES) wire.cause = toWire(err.cause, depth + 1);
  return wire;
}

type Make = (w: WireError, options: { cause?: unknown; retriable?: boolean }) => Error;

const plain =
  (C: new (message: string, options?: { cause?: unknown; retriable?: boolean }) => Error): Make =>
  (w, options) =>
    new C(w.message, options);

/** The classes an error keeps across the thread boundary; others arrive as Error with their name. */
const CLASSES: Record<string, Make> = {
  MentionflowError: plain(MentionflowError),
  ConfigError: plain(ConfigError),
  BackendError: plain(BackendError),
  TaggingError: plain(TaggingError),
  DecodeError: plain(DecodeError),
  KafkaEdgeError: plain(KafkaEdgeError),
  ModelArtifactError: (w, options) => new ModelArtifactError(w.dir ?? '', '', options),
  CorpusFormatError: (w) => new CorpusFormatError(w.file ?? '', w.line ?? 0, ''),
  Error: plain(Error),
  TypeError: plain(TypeError),
  RangeError: plain(RangeError),
  SyntaxError: plain(SyntaxError),
  ReferenceError: plain(ReferenceError),
};

/** The error `toWire` described: same class (see CLASSES), message, stack, retriable flag and causes. */
export function fromWire(w: WireError): Error {
  const cause = w.cause === undefined ? undefined : fromWire(w.cause);
  const options = { ...(cause !== undefined ? { cause } : {}), ...(w.retriable !== undefined ? { retriable: w.retriable } : {}) };
  const make = Object.hasOwn(CLASSES, w.name) ? CLASSES[w.name] : plain(Error);
  const err = make(w, options);
  // The subclasses that compose their message from parts get the original one back.
  err.message = w.message;
  if (err.name !== w.name) err.name = w.name;
  if (cause !== undefined && err.cause === undefined) err.cause = cause;
  if (w.stack !== undefined) err.stack = w.stack;
  return err;
}

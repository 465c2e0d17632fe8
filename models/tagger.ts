/**
 * The Tagger interface the streaming side depends on, and its neural
 * implementation. A Mention is the Avro mention record (models/mention.ts).
 * Offsets: `start`/`end` count Unicode code points (an emoji is one), end
 * exclusive; `start_utf16`/`end_utf16` are the same span in UTF-16 code
 * units, for JavaScript's String.slice and Java. Texts longer than the
 * model's maxLength are tagged in consecutive pieces of maxLength code points.
 * A call computes in steps and returns to the event loop between them
 * (NeuralTaggerOptions.sliceChars, models/pace.ts).
 */
import { ConfigError } from '../common/errors.js';
import { Pace } from './pace.js';
import { labelFields, type Mention } from './mention.js';
import type { TaggerModel } from './taggerModel.js';
import { isSurrogatePairAt, toCodePoints, utf16Offsets } from './text/codepoints.js';
import { textWordSpans } from './text/segTags.js';

export { labelFields, type EntityType, type Mention, type MentionKind } from './mention.js';

/** Tags texts with mentions; the streaming stages depend on this interface only (NeuralTagger, ThreadTagger). */
export interface Tagger {
  readonly modelId: string;
  readonly modelVersion: string;
  /** Mentions per text, in text order; the result has texts.length entries. */
  tag(texts: readonly string[]): Promise<Mention[][]>;
  /** Frees the model's memory (tensors, thread); the tagger is unusable afterwards. */
  dispose(): void;
  /**
   * Optional, for a tagger whose model can change (SwappableTagger): pins the
   * model in service now for one batch. Calls through the lease's tagger all
   * use that model, even if another is swapped in meanwhile; release() once
   * the batch is done (the old model is disposed after its last lease).
   */
  lease?(): TaggerLease;
}

/** Which model tagged something: written to every mention record (schemas/mentions ModelRef). */
export interface ModelVersionRef {
  id: string;
  version: string;
}

/** One model pinned for one batch (Tagger.lease). */
export interface TaggerLease {
  readonly tagger: Tagger;
  /** The model the lease pins, as mention records name it. */
  readonly model: ModelVersionRef;
  /** The batch is done with the model; idempotent. */
  release(): void;
}

/**
 * A word of a segmented text (NeuralTagger.segment). Offsets as a Mention's:
 * `start`/`end` in Unicode code points, end exclusive; `start_utf16`/`end_utf16`
 * the same span in UTF-16 code units (`text.slice(start_utf16, end_utf16)`).
 */
export interface Word {
  text: string;
  start: number;
  end: number;
  start_utf16: number;
  end_utf16: number;
}

/** Options of NeuralTagger. */
export interface NeuralTaggerOptions {
  /** Rows per tensor batch (a row holds one sentence, or several when packed: models/packing.ts). Default 64. */
  batchSize?: number;
  /**
   * Cooperative inference: the most character positions (rows x padded
   * length of a tensor batch) computed in one step before the call returns to
   * the event loop (setImmediate), so timers, Kafka I/O and the ops endpoints
   * run between steps. An integer >= the model's maxLength, or 0 to compute
   * each call in one synchronous run. Default DEFAULT_SLICE_CHARS (a step of
   * about 20-30 ms on one TensorFlow thread; BENCHMARKS.md).
   */
  sliceChars?: number;
}

/**
 * NeuralTaggerOptions.sliceChars by default: 64 short posts (up to 32
 * characters) or 10 pieces of 200 per step. Measured (BENCHMARKS.md, ops
 * endpoints under load): /healthz and /metrics p99 under 100 ms in both modes
 * with short and long posts; 4096 halves the steps but its p99 with long
 * posts inline was 111-116 ms. Smaller tensor batches cost long texts
 * throughput (0.74-0.85x at 2048, 0.78-0.89x at 4096).
 */
export const DEFAULT_SLICE_CHARS = 2048;

/**
 * Characters handled by the tagger's own linear passes (cutting texts into
 * pieces, mention offsets) per cell of model compute: these cost far less per
 * character than a forward pass per cell, so they count this much less
 * toward a step.
 */
const LINEAR_CHARS_PER_CELL = 16;

/** A piece of a text: at most maxLength code points, starting `offset` code points (`offset16` UTF-16 units) into it. */
interface Piece {
  text: number;
  offset: number;
  offset16: number;
  chars: string[];
}

export class NeuralTagger implements Tagger {
  private readonly batchSize: number;
  private readonly sliceChars: number;

  constructor(
    readonly model: TaggerModel,
    options: NeuralTaggerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 64;
    this.sliceChars = options.sliceChars ?? DEFAULT_SLICE_CHARS;
    const max = model.meta.maxLength;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new ConfigError(`NeuralTagger: batchSize must be an integer >= 1 (rows per tensor batch), got ${options.batchSize}; e.g. 64`);
    }
    if (!Number.isInteger(this.sliceChars) || (this.sliceChars !== 0 && this.sliceChars < max)) {
      throw new ConfigError(
        `NeuralTagger: sliceChars must be 0 (never yield to the event loop) or an integer >= the model's maxLength ${max} (a step holds at least one piece of a text), got ${options.sliceChars}; e.g. ${DEFAULT_SLICE_CHARS}`,
      );
    }
    // A char-positional model segments with jieba: load its dictionary (~0.2 s) now, not in the first call.
    model.tokens([]);
    // And the fused LSTM's weights, so that the first call adds no tensors (a model built in-process).
    model.prepareInference();
  }

  get modelId(): string {
    return this.model.meta.modelId;
  }

  get modelVersion(): string {
    return this.model.meta.modelVersion;
  }

  async tag(texts: readonly string[]): Promise<Mention[][]> {
    const pace = new Pace(this.sliceChars);
    const pieces = await this.pieces(texts, pace);
    const preds = await this.model.predict(
      pieces.map((p) => p.chars),
      this.batchSize,
      'ner',
      pace,
    );
    const out: Mention[][] = texts.map(() => []);
    for (let i = 0; i < preds.length; i++) {
      const piece = pieces[i];
      const spans = preds[i].spans;
      if (spans.length === 0) continue;
      const utf16 = utf16Offsets(piece.chars);
      for (const s of spans) {
        out[piece.text].push({
          text: piece.chars.slice(s.start, s.end).join(''),
          ...labelFields(s.label),
          start: piece.offset + s.start,
          end: piece.offset + s.end,
          start_utf16: piece.offset16 + utf16[s.start],
          end_utf16: piece.offset16 + utf16[s.end],
          confidence: s.confidence,
        });
      }
      await pace.spend(piece.chars.length / LINEAR_CHARS_PER_CELL);
    }
    return out;
  }

  /** Whether the model has a segmentation head (a model trained with `train-joint`, as the shipped default), which segment() needs. */
  get canSegment(): boolean {
    return this.model.segTags !== undefined && this.model.network.seg !== undefined;
  }

  /**
   * Word segmentation by the model's segmentation head: the words of each
   * text, in text order (the result has texts.length entries). Whitespace
   * separates words and is never part of one. Texts longer than the model's
   * maxLength are segmented in consecutive pieces, so a word never spans two
   * pieces. With a char-positional model (the shipped default) the head also
   * reads jieba's word positions, so its words lean towards jieba's.
   *
   * Throws a ConfigError when the model has no segmentation head (see
   * canSegment).
   */
  async segment(texts: readonly string[]): Promise<Word[][]> {
    if (!this.canSegment) {
      throw new ConfigError(
        `model ${this.modelId} ${this.modelVersion} has no segmentation head (trained for NER only); segmentation needs a model trained with train-joint, such as the shipped default`,
      );
    }
    const pace = new Pace(this.sliceChars);
    const pieces = await this.pieces(texts, pace);
    const preds = await this.model.predict(
      pieces.map((p) => p.chars),
      this.batchSize,
      'seg',
      pace,
    );
    const out: Word[][] = texts.map(() => []);
    for (let i = 0; i < preds.length; i++) {
      const piece = pieces[i];
      const utf16 = utf16Offsets(piece.chars);
      for (const w of textWordSpans(piece.chars, preds[i].tags)) {
        out[piece.text].push({
          text: piece.chars.slice(w.start, w.end).join(''),
          start: piece.offset + w.start,
          end: piece.offset + w.end,
          start_utf16: piece.offset16 + utf16[w.start],
          end_utf16: piece.offset16 + utf16[w.end],
        });
      }
      await pace.spend(piece.chars.length / LINEAR_CHARS_PER_CELL);
    }
    return out;
  }

  /** The texts cut into pieces of at most maxLength code points, paced as linear work. */
  private async pieces(texts: readonly string[], pace: Pace): Promise<Piece[]> {
    const pieces: Piece[] = [];
    for (let text = 0; text < texts.length; text++) {
      for (const piece of textPieces(texts[text], text, this.model.meta.maxLength)) {
        pieces.push(piece);
        await pace.spend(piece.chars.length / LINEAR_CHARS_PER_CELL);
      }
    }
    return pieces;
  }

  dispose(): void {
    this.model.dispose();
  }
}

/**
 * The code points of `text` (as toCodePoints splits them: a surrogate pair is
 * one, a lone surrogate is one) in consecutive pieces of `max`, the last one
 * shorter; an empty text has none.
 */
function* textPieces(text: string, index: number, max: number): Generator<Piece> {
  let offset = 0;
  let end16 = 0;
  while (end16 < text.length) {
    const offset16 = end16;
    for (let n = 0; n < max && end16 < text.length; n++) end16 += isSurrogatePairAt(text, end16) ? 2 : 1;
    const chars = toCodePoints(text.slice(offset16, end16));
    yield { text: index, offset, offset16, chars };
    offset += chars.length;
  }
}

/**
 * The Tagger interface the streaming side depends on, and its neural
 * implementation. Offsets: `start`/`end` count Unicode code points (an emoji
 * is one), end exclusive; `startUtf16`/`endUtf16` are the same span in UTF-16
 * code units, for JavaScript's String.slice and Java. Texts longer than the
 * model's maxLength are tagged in consecutive pieces of maxLength code points.
 */
import { toCodePoints, utf16Offsets } from './text/codepoints.js';
import type { TaggerModel } from './taggerModel.js';

export type EntityType = 'PER' | 'ORG' | 'LOC' | 'GPE';
export type MentionKind = 'NAM' | 'NOM';

export interface Mention {
  /** Surface text of the mention. */
  text: string;
  /** Label as in the corpus, e.g. "PER.NAM". */
  label: string;
  type: EntityType;
  kind: MentionKind;
  /** Code-point offsets, end exclusive. */
  start: number;
  end: number;
  /** UTF-16 code-unit offsets, end exclusive. */
  startUtf16: number;
  endUtf16: number;
  /** CRF probability of exactly this span and label, in [0, 1]. */
  confidence: number;
}

export interface Tagger {
  readonly modelId: string;
  readonly modelVersion: string;
  /** Mentions per text, in text order; the result has texts.length entries. */
  tag(texts: readonly string[]): Promise<Mention[][]>;
  dispose(): void;
}

export interface NeuralTaggerOptions {
  /** Sentences per tensor batch. Default 64. */
  batchSize?: number;
}

export class NeuralTagger implements Tagger {
  private readonly batchSize: number;

  constructor(
    readonly model: TaggerModel,
    options: NeuralTaggerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 64;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${options.batchSize}`);
  }

  get modelId(): string {
    return this.model.meta.modelId;
  }

  get modelVersion(): string {
    return this.model.meta.modelVersion;
  }

  async tag(texts: readonly string[]): Promise<Mention[][]> {
    const max = this.model.meta.maxLength;
    const pieces: { text: number; offset: number; chars: string[] }[] = [];
    const chars = texts.map((t) => toCodePoints(t));
    chars.forEach((cs, text) => {
      for (let offset = 0; offset < cs.length; offset += max) pieces.push({ text, offset, chars: cs.slice(offset, offset + max) });
    });
    const preds = await this.model.predict(
      pieces.map((p) => p.chars),
      this.batchSize,
    );
    const out: Mention[][] = texts.map(() => []);
    const utf16 = chars.map((cs) => utf16Offsets(cs));
    preds.forEach((pred, i) => {
      const piece = pieces[i];
      for (const s of pred.spans) {
        const start = piece.offset + s.start;
        const end = piece.offset + s.end;
        const [type, kind] = s.label.split('.') as [EntityType, MentionKind];
        out[piece.text].push({
          text: chars[piece.text].slice(start, end).join(''),
          label: s.label,
          type,
          kind,
          start,
          end,
          startUtf16: utf16[piece.text][start],
          endUtf16: utf16[piece.text][end],
          confidence: s.confidence,
        });
      }
    });
    return out;
  }

  dispose(): void {
    this.model.dispose();
  }
}

/**
 * The shared representation of the paper's Figure 1: character embeddings
 * feeding a (Bi)LSTM, with dropout on the LSTM input. The segmentation and
 * NER heads both read from one CharEncoder object (that is the sharing).
 */
import * as tf from '@tensorflow/tfjs';
import { Embedding } from '../layers/embedding.js';
import { LstmEncoder } from '../layers/lstm.js';
import { collect, type ParamMap } from '../layers/params.js';
import type { PackedLayout } from '../packing.js';
import type { Rng } from '../rng.js';

export interface CharEncoderConfig {
  vocabSize: number;
  embeddingDim: number;
  hiddenDim: number;
  bidirectional: boolean;
  /** Dropout rate on the LSTM input (the embeddings) while training, in [0, 1). */
  dropout: number;
}

export interface Encoded {
  /** Character embeddings [B, T, embeddingDim] (no dropout). */
  embeddings: tf.Tensor3D;
  /** LSTM hidden states [B, T, hiddenDim * directions]. */
  hidden: tf.Tensor3D;
}

export class CharEncoder {
  readonly embedding: Embedding;
  readonly lstm: LstmEncoder;

  constructor(readonly config: CharEncoderConfig, rng: Rng) {
    this.embedding = new Embedding({ vocabSize: config.vocabSize, dim: config.embeddingDim }, rng);
    this.lstm = new LstmEncoder(
      { inputDim: config.embeddingDim, hiddenDim: config.hiddenDim, bidirectional: config.bidirectional },
      rng,
    );
  }

  /**
   * ids [B, T] int32, lengths [B]. `dropoutSeed` given means training mode
   * (dropout applied with that seed); undefined means inference.
   */
  apply(ids: tf.Tensor2D, lengths: ArrayLike<number>, dropoutSeed?: number): Encoded {
    return tf.tidy(() => {
      const embeddings = this.embedding.apply(ids);
      const input =
        dropoutSeed !== undefined && this.config.dropout > 0
          ? (tf.dropout(embeddings, this.config.dropout, undefined, dropoutSeed) as tf.Tensor3D)
          : embeddings;
      return { embeddings, hidden: this.lstm.apply(input, lengths, dropoutSeed === undefined) };
    });
  }

  /**
   * Inference over a packed batch (models/packing.ts): ids [N] of the flat
   * character axis -> embeddings [1, N, embeddingDim] and hidden states
   * [1, N, hiddenDim * directions] (one "sentence" of N positions, which is
   * what the heads' emission layers take). Only where `canPack()`.
   */
  applyPacked(ids: tf.Tensor1D, layout: PackedLayout): Encoded {
    return tf.tidy(() => {
      const embeddings = this.embedding.lookup(ids);
      const hidden = this.lstm.applyPacked(embeddings, layout);
      return { embeddings: tf.expandDims(embeddings, 0) as tf.Tensor3D, hidden: tf.expandDims(hidden, 0) as tf.Tensor3D };
    });
  }

  /** True where applyPacked can run (the LSTM's fused kernel is available). */
  canPack(): boolean {
    return this.lstm.canPack();
  }

  params(): ParamMap {
    const out: ParamMap = new Map();
    collect(out, 'embedding', this.embedding.params());
    return collect(out, 'lstm', this.lstm.params());
  }
}

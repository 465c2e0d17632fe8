/**
 * A CRF tagging head. Its emissions combine, each switchable (the paper's
 * NER model): (a) hashed sparse lexical features, (b) the shared character
 * embeddings, (c) the shared LSTM hidden vectors; (b) and (c) go through one
 * linear layer. The segmentation head is the same class with only (c).
 */
import * as tf from '@tensorflow/tfjs';
import { Crf, type CrfOptions } from '../crf/crf.js';
import { crfNll, type NllTargets } from '../crf/fastNll.js';
import { HashedFeatures } from '../layers/hashedFeatures.js';
import { Linear } from '../layers/linear.js';
import { collect, type ParamMap } from '../layers/params.js';
import type { Rng } from '../rng.js';
import type { Encoded } from './charEncoder.js';

export interface CrfHeadConfig {
  numTags: number;
  /** Use the LSTM hidden vectors in the emissions. */
  useHidden: boolean;
  /** Use the character embeddings in the emissions. */
  useEmbeddings: boolean;
  /** Hash buckets for sparse lexical features; 0 disables them. */
  lexicalBuckets: number;
}

export interface HeadInputs {
  encoded?: Encoded;
  /** Lexical feature ids [B, T, F] when lexicalBuckets > 0. */
  features?: tf.Tensor3D;
  /** No gradient will be taken (inference): lookups may skip what only training needs. */
  inference?: boolean;
}

export class CrfHead {
  readonly linear?: Linear;
  readonly lexical?: HashedFeatures;
  readonly crf: Crf;

  constructor(
    readonly config: CrfHeadConfig,
    dims: { hidden: number; embedding: number },
    constraints: CrfOptions['constraints'],
    rng: Rng,
  ) {
    const inputDim = (config.useHidden ? dims.hidden : 0) + (config.useEmbeddings ? dims.embedding : 0);
    if (inputDim > 0) this.linear = new Linear({ inputDim, outputDim: config.numTags }, rng);
    if (config.lexicalBuckets > 0) this.lexical = new HashedFeatures({ numBuckets: config.lexicalBuckets, numTags: config.numTags });
    if (!this.linear && !this.lexical) throw new Error('a CRF head needs hidden vectors, embeddings or lexical features');
    this.crf = new Crf({ numTags: config.numTags, constraints });
  }

  /** Emission scores [B, T, K]. */
  emissions(inputs: HeadInputs): tf.Tensor3D {
    return tf.tidy(() => {
      const parts: tf.Tensor3D[] = [];
      if (this.linear) {
        const enc = inputs.encoded;
        if (!enc) throw new Error('this head needs the encoder output');
        const xs: tf.Tensor3D[] = [];
        if (this.config.useHidden) xs.push(enc.hidden);
        if (this.config.useEmbeddings) xs.push(enc.embeddings);
        parts.push(this.linear.apply(xs.length === 1 ? xs[0] : (tf.concat(xs, 2) as tf.Tensor3D)));
      }
      if (this.lexical) {
        if (!inputs.features) throw new Error('this head needs lexical feature ids');
        parts.push(this.lexical.apply(inputs.features, inputs.inference === true));
      }
      return parts.length === 1 ? parts[0] : (tf.add(parts[0], parts[1]) as tf.Tensor3D);
    });
  }

  /** Mean negative log-likelihood of gold tags, softmax-margin with `targets.cost` (see models/crf/fastNll.ts). */
  loss(emissions: tf.Tensor3D, targets: NllTargets): tf.Scalar {
    return crfNll(this.crf, emissions, targets);
  }

  params(): ParamMap {
    const out: ParamMap = new Map();
    if (this.linear) collect(out, 'linear', this.linear.params());
    if (this.lexical) collect(out, 'lexical', this.lexical.params());
    return collect(out, 'crf', this.crf.params());
  }
}

/**
 * The whole network of the paper's Figure 1: one shared CharEncoder, an NER
 * CRF head and, for joint training, a segmentation (BIES) CRF head that reads
 * the same encoder. Single-task NER is the same network without the
 * segmentation head. Free of rxjs and kafkajs; operates on padded batches,
 * and at inference also on packed ones (models/packing.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../batch.js';
import type { CrfOptions } from '../crf/crf.js';
import type { MarginCost } from '../crf/fastNll.js';
import { FEATURE_TEMPLATES } from '../features/lexical.js';
import { collect, disposeParams, type ParamMap } from '../layers/params.js';
import type { PackedBatch } from '../packing.js';
import { Rng } from '../rng.js';
import { CharEncoder } from './charEncoder.js';
import { CrfHead, type CrfHeadConfig } from './crfHead.js';
import { nativeLstmAvailable } from '../layers/nativeLstm.js';
import { nativeHeadEmissions, prepareNativeHead } from './nativeHead.js';

/** Hyperparameters saved in the artifact manifest. */
export interface NetworkConfig {
  vocabSize: number;
  embeddingDim: number;
  hiddenDim: number;
  bidirectional: boolean;
  dropout: number;
  ner: CrfHeadConfig;
  /** Present for the joint model: the BIES segmentation head (4 tags). */
  seg?: CrfHeadConfig;
}

export type HeadName = 'ner' | 'seg';

export interface TagConstraints {
  ner?: CrfOptions['constraints'];
  seg?: CrfOptions['constraints'];
}

export class TaggingNetwork {
  readonly encoder?: CharEncoder;
  readonly ner: CrfHead;
  readonly seg?: CrfHead;

  constructor(readonly config: NetworkConfig, constraints: TagConstraints, seed: number) {
    const rng = new Rng(seed);
    const needsEncoder = [config.ner, config.seg].some((h) => h && (h.useHidden || h.useEmbeddings));
    if (needsEncoder) this.encoder = new CharEncoder(config, rng);
    const dims = { hidden: this.encoder?.lstm.outputDim ?? 0, embedding: config.embeddingDim };
    this.ner = new CrfHead(config.ner, dims, constraints.ner, rng);
    if (config.seg) this.seg = new CrfHead(config.seg, dims, constraints.seg, rng);
  }

  head(name: HeadName): CrfHead {
    const h = name === 'ner' ? this.ner : this.seg;
    if (!h) throw new Error(`this network has no ${name} head`);
    return h;
  }

  /** Emission scores [B, T, K] of one head; `dropoutSeed` set means training mode. */
  emissions(name: HeadName, batch: Batch, dropoutSeed?: number): tf.Tensor3D {
    const { size: b, steps: t } = batch;
    if (dropoutSeed === undefined && this.runsNative(this.head(name))) {
      const starts = Int32Array.from({ length: b }, (_, i) => i * t);
      const em = nativeHeadEmissions(this.encoder!, this.head(name), { ...batch, starts });
      return tf.tensor3d(em, [b, t, this.head(name).config.numTags]);
    }
    return tf.tidy(() => {
      const head = this.head(name);
      const encoded = this.readsEncoder(head) ? this.encoder!.apply(tf.tensor2d(batch.ids, [b, t], 'int32'), batch.lengths, dropoutSeed) : undefined;
      return head.emissions({ encoded, features: featureTensor(head, batch, b, t), inference: dropoutSeed === undefined });
    });
  }

  /**
   * True where this network can run packed batches (packedEmissions): it has
   * no encoder, or the encoder's LSTM runs on the fused kernel (native backend).
   */
  canPack(): boolean {
    return this.encoder === undefined || this.encoder.canPack();
  }

  /**
   * Emission scores [N, K] of one head over a packed batch (inference only):
   * each character's scores as emissions() gives them with its sentence alone
   * (the recurrence is reset between sentences), on the flat character axis.
   */
  packedEmissions(name: HeadName, batch: PackedBatch): tf.Tensor2D {
    const n = batch.layout.chars;
    const { starts, lengths } = batch.layout;
    if (this.runsNative(this.head(name))) return tf.tensor2d(nativeHeadEmissions(this.encoder!, this.head(name), { ...batch, starts, lengths }), [n, this.head(name).config.numTags]);
    return tf.tidy(() => {
      const head = this.head(name);
      const encoded = this.readsEncoder(head) ? this.encoder!.applyPacked(tf.tensor1d(batch.ids, 'int32'), batch.layout) : undefined;
      return tf.reshape(head.emissions({ encoded, features: featureTensor(head, batch, 1, n), inference: true }), [n, head.config.numTags]) as tf.Tensor2D;
    });
  }

  /** Mean CRF negative log-likelihood of a labelled batch for one head (softmax-margin with `cost`, models/crf/fastNll.ts). */
  loss(name: HeadName, batch: Batch, dropoutSeed?: number, cost?: MarginCost): tf.Scalar {
    return tf.tidy(() => {
      if (!batch.tags) throw new Error('loss needs a labelled batch');
      return this.head(name).loss(this.emissions(name, batch, dropoutSeed), { tags: batch.tags, lengths: batch.lengths, cost });
    });
  }

  /**
   * True when inference of `head` runs in one C call (nativeHead.ts): the
   * LSTM's C kernel runs here and the head reads the encoder.
   */
  private runsNative(head: CrfHead): boolean {
    return this.readsEncoder(head) && nativeLstmAvailable();
  }

  /** True when `head`'s emissions read the encoder (its hidden vectors or embeddings). */
  private readsEncoder(head: CrfHead): boolean {
    return this.encoder !== undefined && (head.config.useHidden || head.config.useEmbeddings);
  }

  /** Trainable variables of the parts a head's loss depends on. */
  headParams(name: HeadName): ParamMap {
    const out: ParamMap = new Map();
    const head = this.head(name);
    if (this.readsEncoder(head)) collect(out, 'encoder', this.encoder!.params());
    return collect(out, name, head.params());
  }

  /** Every trainable variable, by stable name (the artifact's weight names). */
  params(): ParamMap {
    const out: ParamMap = new Map();
    if (this.encoder) collect(out, 'encoder', this.encoder.params());
    collect(out, 'ner', this.ner.params());
    if (this.seg) collect(out, 'seg', this.seg.params());
    return out;
  }

  /**
   * Builds what inference keeps per weights version (the LSTM's weights in
   * the fused kernel's layout; where the C kernel runs, the host copies of
   * the weights it reads) now, so that the first call after a load adds no
   * tensors and reads no weights, and the count is flat from the load on; a
   * no-op where neither kernel runs. Later weight changes rebuild it on the
   * next call.
   */
  prepareInference(): void {
    this.encoder?.lstm.prepareInference();
    for (const head of [this.ner, this.seg]) if (head && this.runsNative(head)) prepareNativeHead(this.encoder!, head);
  }

  dispose(): void {
    disposeParams(this.params());
    this.encoder?.lstm.disposeBlockWeights();
    this.ner.crf.disposeConstants();
    this.seg?.crf.disposeConstants();
  }
}

/** A head's lexical feature ids as a [b, t, F] tensor, when it has lexical features (from a padded or a packed batch). */
function featureTensor(head: CrfHead, batch: { features?: Int32Array; featuresPerStep?: number }, b: number, t: number): tf.Tensor3D | undefined {
  if (head.config.lexicalBuckets <= 0) return undefined;
  if (!batch.features) throw new Error('batch lacks lexical features');
  return tf.tensor3d(batch.features, [b, t, batch.featuresPerStep ?? FEATURE_TEMPLATES], 'int32');
}

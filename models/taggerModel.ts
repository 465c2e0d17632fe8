/**
 * A trained (or training) tagger bundle: the network plus everything needed
 * to turn characters into ids and tag ids back into tags (vocabulary, tag
 * dictionaries, scheme). This is the unit saved as and loaded from a model
 * artifact, by training and serving alike.
 */
import { ModelArtifactError } from '../common/errors.js';
import { readArtifact, assignWeights } from './artifact/load.js';
import type { ModelManifest } from './artifact/manifest.js';
import { saveArtifact, type ManifestDraft } from './artifact/save.js';
import { inferenceBuckets, makeBatch, type EncodedSentence } from './batch.js';
import { withoutInit } from './layers/params.js';
import { Pace, yieldToEventLoop } from './pace.js';
import type { CrfOptions } from './crf/crf.js';
import { applyNonOBias } from './crf/decodingBias.js';
import { forwardBackward } from './crf/forwardBackward.js';
import { spanProbability } from './crf/marginals.js';
import { viterbi } from './crf/viterbi.js';
import { FEATURE_TEMPLATES, lexicalFeatureIds } from './features/lexical.js';
import { concatFeatureRows, TagFeatureExtractor, type TagFeaturesSpec } from './features/tagFeatures.js';
import { TaggingNetwork, type HeadName, type NetworkConfig } from './network/taggingNetwork.js';
import { TagDictionary, type TagScheme } from './text/tagScheme.js';
import { inputTokens } from './text/charPositions.js';
import { jiebaSegmenter } from './text/jiebaSegmenter.js';
import { bioesToSpans, bioToSpans, type Span } from './text/spans.js';
import { Vocabulary } from './text/vocabulary.js';

/** BIES tags of the segmentation head. */
export const SEG_TAGS = ['B', 'I', 'E', 'S'] as const;

/** The fixed BIES tag dictionary of the segmentation head. */
export function segTagDictionary(): TagDictionary {
  return TagDictionary.fromTags(SEG_TAGS);
}

/** A labelled span of a sentence with its CRF probability. */
export interface ScoredSpan extends Span {
  /** Probability of exactly this labelled span under the CRF, in [0, 1]. */
  confidence: number;
}

/** The best tag sequence of a sentence and the spans it contains. */
export interface Prediction {
  tags: string[];
  spans: ScoredSpan[];
}

/** What a model artifact records besides the weights: ids, tag scheme, maximum length, input features. */
export interface TaggerModelMeta {
  modelId: string;
  modelVersion: string;
  scheme: TagScheme;
  maxLength: number;
  /** The vocabulary holds char-positional tokens: `tokens` segments with jieba (see models/text/charPositions.ts). */
  charPositional?: boolean;
  /** Extra NER features from taggings of the sentence (segmentation head, name dictionary) and SoftLexicon word sets. */
  tagFeatures?: TagFeaturesSpec;
  /** Added to every non-O emission of the NER head before decoding (models/crf/decodingBias.ts); absent means 0. */
  nonOBias?: number;
}

/** CRF constraints from a tag dictionary's scheme (forbidden bigrams get -1e4). */
export function schemeConstraints(tags: TagDictionary): CrfOptions['constraints'] {
  const { transitions, start, end } = tags.constraintMasks();
  const n = tags.size;
  return {
    allowed: Array.from({ length: n }, (_, i) => Array.from(transitions.subarray(i * n, (i + 1) * n), Boolean)),
    allowedStart: Array.from(start, Boolean),
    allowedEnd: Array.from(end, Boolean),
  };
}

/** Segmentation (BIES) constraints: B/I must be followed by I/E; E/S by B/S. */
export function segConstraints(): CrfOptions['constraints'] {
  const open = (t: string) => t === 'B' || t === 'I';
  const allowed = SEG_TAGS.map((from) => SEG_TAGS.map((to) => (open(from) ? to === 'I' || to === 'E' : to === 'B' || to === 'S')));
  return { allowed, allowedStart: SEG_TAGS.map((t) => t === 'B' || t === 'S'), allowedEnd: SEG_TAGS.map((t) => t === 'E' || t === 'S') };
}

/** A tagging network with its vocabulary and tag dictionaries: the unit saved and loaded as a model artifact (`TaggerModel.load(dir)`, `model.save(dir, ...)`), by training and serving alike. */
export class TaggerModel {
  /** Computes the NER head's tag features; undefined when the model has none. */
  readonly tagFeatures?: TagFeatureExtractor;

  constructor(
    readonly network: TaggingNetwork,
    readonly vocab: Vocabulary,
    readonly nerTags: TagDictionary,
    readonly segTags: TagDictionary | undefined,
    readonly meta: TaggerModelMeta,
  ) {
    const spec = meta.tagFeatures;
    if (spec && (spec.segmentation || spec.dictionary || spec.softLexicon)) {
      if (network.config.ner.lexicalBuckets <= 0) throw new Error('tag features are hashed into the lexical buckets: the NER head needs lexicalBuckets > 0');
      if (spec.segmentation && !network.seg) throw new Error('segmentation features need a segmentation head');
      this.tagFeatures = new TagFeatureExtractor(spec);
    }
  }

  /** The NER features read the segmentation head's predictions (predict() runs it first). */
  get needsSegmentation(): boolean {
    return this.tagFeatures?.spec.segmentation === true;
  }

  /** A freshly initialised model. */
  static create(config: NetworkConfig, vocab: Vocabulary, nerTags: TagDictionary, meta: TaggerModelMeta, seed: number): TaggerModel {
    const segTags = config.seg ? segTagDictionary() : undefined;
    const network = new TaggingNetwork(
      config,
      { ner: schemeConstraints(nerTags), seg: config.seg ? segConstraints() : undefined },
      seed,
    );
    return new TaggerModel(network, vocab, nerTags, segTags, meta);
  }

  /** The vocabulary tokens of one sentence: its characters, or their char-positional tokens (jieba). */
  tokens(chars: readonly string[]): readonly string[] {
    const charPositional = this.meta.charPositional === true;
    return inputTokens(chars, { charPositional, normalize: this.vocab.normalize }, charPositional ? jiebaSegmenter() : undefined);
  }

  /**
   * Ids (and features, and tag ids when `tags` is given) of one sentence for
   * `head`. A model with segmentation features needs `segTags`, the
   * segmentation head's predicted BIES tags of the sentence, for the NER head
   * (see predictSegmentation).
   */
  encode(chars: readonly string[], tags?: readonly string[], head: HeadName = 'ner', segTags?: readonly string[]): EncodedSentence {
    const dict: TagDictionary | undefined = head === 'ner' ? this.nerTags : this.segTags;
    const h = this.network.head(head).config;
    let features = h.lexicalBuckets > 0 ? lexicalFeatureIds(chars, h.lexicalBuckets) : undefined;
    if (features && head === 'ner' && this.tagFeatures) {
      const extra = this.tagFeatures.featureIds(chars, h.lexicalBuckets, segTags);
      features = concatFeatureRows(features, FEATURE_TEMPLATES, extra, this.tagFeatures.featuresPerStep, chars.length);
    }
    return {
      ids: this.vocab.encode(this.tokens(chars)),
      features,
      tags: tags && dict ? Int32Array.from(tags, (t) => dict.id(t)) : undefined,
    };
  }

  /** The segmentation head's BIES tags per sentence when the NER features need them, else undefined. */
  async predictSegmentation(sentences: readonly (readonly string[])[], batchSize = 64, pace: Pace = Pace.OFF): Promise<string[][] | undefined> {
    if (!this.needsSegmentation) return undefined;
    return (await this.predict(sentences, batchSize, 'seg', pace)).map((p) => p.tags);
  }

  /**
   * Best NER tags and scored spans for each sentence (each of length >= 1
   * and <= meta.maxLength), batched by similar length, at most `batchSize` at
   * a time (inferenceBuckets: cut where padding plus passes cost least).
   * With a `pace` that is on, a tensor batch holds at most pace.maxCells
   * cells (sentences x longest length), and the call returns to the event
   * loop before each forward pass and before each batch's CRF decoding (so
   * also between the segmentation and the NER pass).
   */
  async predict(sentences: readonly (readonly string[])[], batchSize = 64, head: HeadName = 'ner', pace: Pace = Pace.OFF): Promise<Prediction[]> {
    const out: Prediction[] = new Array(sentences.length);
    const dict: TagDictionary = head === 'ner' ? this.nerTags : this.segTags!;
    const scores = this.network.head(head).crf.scores();
    const toSpans = head === 'seg' ? () => [] : this.meta.scheme === 'BIOES' ? bioesToSpans : bioToSpans;
    const k = dict.size;
    for await (const { group, batch, data } of this.emissionBatches(sentences, batchSize, head, pace)) {
      if (head === 'ner') this.applyDecodingBias(data, this.meta.nonOBias ?? 0);
      group.forEach((sentIndex, b) => {
        const len = batch.lengths[b];
        const offset = b * batch.steps * k;
        const { path } = viterbi(scores, data, offset, len);
        const tags = Array.from(path, (id) => dict.tag(id));
        const found = toSpans(tags);
        const fb = found.length > 0 ? forwardBackward(scores, data, offset, len) : undefined;
        const spans = found.map((s) => {
          const ids = tags.slice(s.start, s.end).map((t) => dict.id(t));
          const notNext = new Set<number>();
          if (this.meta.scheme === 'BIO') notNext.add(dict.id(`I-${s.label}`));
          return { ...s, confidence: spanProbability(fb!, scores, data, offset, s.start, ids, notNext) };
        });
        out[sentIndex] = { tags, spans };
      });
    }
    return out;
  }

  /**
   * The network's emissions of `head`, batch by batch: the sentence indices
   * of each batch, the padded batch and its [B, T, K] scores, no decoding
   * bias applied. Batched as predict() batches (inferenceBuckets: by length, cut where padding plus passes cost least; with the
   * pace's pauses before each forward pass and after it).
   */
  private async *emissionBatches(
    sentences: readonly (readonly string[])[],
    batchSize: number,
    head: HeadName,
    pace: Pace,
  ): AsyncGenerator<{ group: number[]; batch: ReturnType<typeof makeBatch>; data: Float32Array }> {
    const segTags = head === 'ner' ? await this.predictSegmentation(sentences, batchSize, pace) : undefined;
    for (const group of inferenceBuckets(sentences.map((s) => s.length), batchSize, pace.maxCells)) {
      await pace.pause();
      const batch = makeBatch(group.map((i) => this.encode(sentences[i], undefined, head, segTags?.[i])));
      const em = this.network.emissions(head, batch);
      const data = (await em.data()) as Float32Array;
      em.dispose();
      await pace.pause();
      yield { group, batch, data };
    }
  }

  /** Applies a non-O bias in place to NER emissions laid out [rows, K] (see models/crf/decodingBias.ts). */
  applyDecodingBias(data: Float32Array, bias: number): void {
    applyNonOBias(data, this.nerTags.size, this.nerTags.id('O'), bias);
  }

  /**
   * The NER head's emissions of each sentence ([length, K] row-major, no
   * decoding bias), for decoding them again under other biases
   * (decodeNer) without running the network again: `mentionflow calibrate`.
   */
  async nerEmissions(sentences: readonly (readonly string[])[], batchSize = 64): Promise<Float32Array[]> {
    const out: Float32Array[] = new Array(sentences.length);
    const k = this.nerTags.size;
    for await (const { group, batch, data } of this.emissionBatches(sentences, batchSize, 'ner', Pace.OFF)) {
      group.forEach((sentIndex, b) => {
        const offset = b * batch.steps * k;
        out[sentIndex] = data.slice(offset, offset + batch.lengths[b] * k);
      });
    }
    return out;
  }

  /** Viterbi spans (no confidences) of one sentence's NER emissions (from nerEmissions) under `bias`; `emissions` is not changed. */
  decodeNer(emissions: Float32Array, bias: number, scores = this.network.ner.crf.scores()): Span[] {
    const k = this.nerTags.size;
    const data = bias === 0 ? emissions : emissions.slice();
    this.applyDecodingBias(data, bias);
    const { path } = viterbi(scores, data, 0, data.length / k);
    const tags = Array.from(path, (id) => this.nerTags.tag(id));
    return this.meta.scheme === 'BIOES' ? bioesToSpans(tags) : bioToSpans(tags);
  }

  /** Writes the artifact (weights + manifest) to `dir`. */
  async save(dir: string, extra: Pick<ManifestDraft, 'training' | 'scores'> & { createdAt?: string; calibration?: Record<string, unknown> }): Promise<ModelManifest> {
    const nonOBias = this.meta.nonOBias ?? 0;
    return saveArtifact(
      dir,
      {
        modelId: this.meta.modelId,
        modelVersion: this.meta.modelVersion,
        createdAt: extra.createdAt ?? new Date().toISOString(),
        network: this.network.config,
        scheme: this.meta.scheme,
        maxLength: this.meta.maxLength,
        vocabulary: this.vocab.toJSON(),
        charPositional: this.meta.charPositional ? true : undefined,
        tagFeatures: this.tagFeatures ? this.meta.tagFeatures : undefined,
        decoding: nonOBias !== 0 || extra.calibration ? { nonOBias, calibration: extra.calibration } : undefined,
        tags: { ner: this.nerTags.toJSON(), seg: this.segTags?.toJSON() },
        training: extra.training,
        scores: extra.scores,
      },
      this.network.params(),
    );
  }

  /**
   * Loads an artifact directory (see models/artifact/). In steps, returning
   * to the event loop between them (a worker keeps serving while it loads a
   * candidate): read and verify the files, build the network (no random
   * initialisation: every weight is assigned next), assign the weights
   * tensor by tensor.
   */
  static async load(dir: string): Promise<{ model: TaggerModel; manifest: ModelManifest }> {
    const loaded = await readArtifact(dir);
    const m = loaded.manifest;
    await yieldToEventLoop();
    let model: TaggerModel;
    try {
      const vocab = Vocabulary.fromJSON(m.vocabulary);
      const nerTags = TagDictionary.fromJSON(m.tags.ner);
      if (m.network.vocabSize !== vocab.size) throw new Error(`network vocabSize ${m.network.vocabSize} != vocabulary size ${vocab.size}`);
      const meta = { modelId: m.modelId, modelVersion: m.modelVersion, scheme: m.scheme, maxLength: m.maxLength, charPositional: m.charPositional === true, tagFeatures: m.tagFeatures, nonOBias: m.decoding?.nonOBias ?? 0 };
      model = withoutInit(() => TaggerModel.create(m.network, vocab, nerTags, meta, 0));
    } catch (err) {
      if (err instanceof ModelArtifactError) throw err;
      throw new ModelArtifactError(dir, `inconsistent manifest: ${(err as Error).message}`, { cause: err });
    }
    try {
      await yieldToEventLoop();
      await assignWeights(dir, loaded, model.network.params());
    } catch (err) {
      model.dispose();
      throw err;
    }
    return { model, manifest: m };
  }

  /** Frees the network's tensors. */
  dispose(): void {
    this.network.dispose();
  }
}

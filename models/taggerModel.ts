/**
 * A trained (or training) tagger bundle: the network plus everything needed
 * to turn characters into ids and tag ids back into tags (vocabulary, tag
 * dictionaries, scheme). This is the unit saved as and loaded from a model
 * artifact, by training and serving alike.
 *
 * An ensemble is the same unit with N >= 2 member networks (`members`; the
 * first is `network`) sharing the vocabulary, tag dictionaries and input
 * features: its potentials are the mean of the members' CRF log-potentials
 * (emissions, transitions, start and end scores), decoded by one Viterbi
 * with the decoding bias added to the averaged emissions. A model of one
 * member computes exactly what that network alone does.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelArtifactError } from '../common/errors.js';
import { readArtifact, assignWeights } from './artifact/load.js';
import { memberPrefix, type EnsembleMember, type ModelManifest } from './artifact/manifest.js';
import { saveArtifact, type ManifestDraft } from './artifact/save.js';
import { inferenceBuckets, makeBatch, type EncodedSentence } from './batch.js';
import { makePackedBatch, type PackedBatch, packingEnabled, packRows } from './packing.js';
import { collect, withoutInit, type ParamMap } from './layers/params.js';
import { Pace, yieldToEventLoop } from './pace.js';
import type { CrfOptions, CrfScores } from './crf/crf.js';
import { applyNonOBias } from './crf/decodingBias.js';
import { applySpanThreshold } from './crf/spanThreshold.js';
import { forwardBackward } from './crf/forwardBackward.js';
import { spanProbability } from './crf/marginals.js';
import { viterbi } from './crf/viterbi.js';
import { FEATURE_TEMPLATES, lexicalFeatureIds } from './features/lexical.js';
import { concatFeatureRows, TagFeatureExtractor, type TagFeaturesSpec } from './features/tagFeatures.js';
import { TaggingNetwork, type HeadName, type NetworkConfig } from './network/taggingNetwork.js';
import { TagDictionary, type TagScheme } from './text/tagScheme.js';
import { inputTokenIds, inputTokens } from './text/charPositions.js';
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
  /** NER spans whose confidence is below it are dropped (models/crf/spanThreshold.ts); absent means 0 (none). */
  minSpanConfidence?: number;
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

  /** The member networks whose potentials are averaged: [network] for a single model. */
  readonly members: readonly TaggingNetwork[];
  /** For an ensemble (saved in the ensemble format, even of one member): what each member is. */
  readonly ensemble?: readonly EnsembleMember[];

  constructor(
    readonly network: TaggingNetwork,
    readonly vocab: Vocabulary,
    readonly nerTags: TagDictionary,
    readonly segTags: TagDictionary | undefined,
    readonly meta: TaggerModelMeta,
    /**
     * Makes this an ensemble (see the module comment): `networks` (the first
     * is `network`) and a description of each. Every member needs
     * `network`'s heads, tag counts, vocabulary size and lexical buckets.
     */
    ensemble?: { networks: readonly TaggingNetwork[]; members: readonly EnsembleMember[] },
  ) {
    this.members = ensemble?.networks ?? [network];
    if (ensemble) {
      if (ensemble.networks[0] !== network) throw new Error('an ensemble\'s first member network is its `network`');
      if (ensemble.members.length !== ensemble.networks.length) throw new Error(`ensemble: ${ensemble.networks.length} networks but ${ensemble.members.length} member descriptions`);
      this.ensemble = ensemble.members;
    }
    for (const [i, m] of this.members.entries()) {
      const why = memberMismatch(network.config, m.config);
      if (why) throw new Error(`ensemble member ${i} does not fit member 0: ${why}`);
    }
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

  /** The vocabulary ids of tokens(chars), without building char-positional token strings. */
  tokenIds(chars: readonly string[]): Int32Array {
    const charPositional = this.meta.charPositional === true;
    return inputTokenIds(chars, { charPositional, normalize: this.vocab.normalize }, this.vocab, charPositional ? jiebaSegmenter() : undefined);
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
      ids: this.tokenIds(chars),
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
   * and <= meta.maxLength), in tensor batches of at most `batchSize` rows:
   * packed (several sentences per row, the recurrence reset between them;
   * models/packing.ts) where the network can pack, else padded by similar
   * length (inferenceBuckets: cut where padding plus passes cost least).
   * With a `pace` that is on, a tensor batch holds at most pace.maxCells
   * cells (rows x longest length), and the call returns to the event
   * loop before each forward pass and before each batch's CRF decoding (so
   * also between the segmentation and the NER pass). NER decoding applies the
   * model's calibration: `meta.nonOBias` before Viterbi, then drops the spans
   * below `meta.minSpanConfidence` (their tags become O); every NER decode
   * path (taggers, thread tagger, eval, compare, distillation) goes through here.
   */
  async predict(sentences: readonly (readonly string[])[], batchSize = 64, head: HeadName = 'ner', pace: Pace = Pace.OFF): Promise<Prediction[]> {
    const out: Prediction[] = new Array(sentences.length);
    const dict: TagDictionary = head === 'ner' ? this.nerTags : this.segTags!;
    const scores = this.crfScores(head);
    const toSpans = head === 'seg' ? () => [] : this.meta.scheme === 'BIOES' ? bioesToSpans : bioToSpans;
    const k = dict.size;
    const minConfidence = head === 'ner' ? (this.meta.minSpanConfidence ?? 0) : 0;
    for await (const { group, starts, lengths, data } of this.emissionBatches(sentences, batchSize, head, pace)) {
      if (head === 'ner') this.applyDecodingBias(data, this.meta.nonOBias ?? 0);
      group.forEach((sentIndex, b) => {
        const len = lengths[b];
        const offset = starts[b] * k;
        const { path } = viterbi(scores, data, offset, len);
        const tags = Array.from(path, (id) => dict.tag(id));
        const spans = this.withConfidence(scores, data, offset, len, tags, toSpans(tags));
        out[sentIndex] = applySpanThreshold(tags, spans, minConfidence);
      });
    }
    return out;
  }

  /** `found` (spans of the NER `tags` decoded from `data` at `offset`, `len` positions) with their CRF probabilities. */
  private withConfidence(scores: CrfScores, data: Float32Array, offset: number, len: number, tags: readonly string[], found: readonly Span[]): ScoredSpan[] {
    const dict = this.nerTags;
    const fb = found.length > 0 ? forwardBackward(scores, data, offset, len) : undefined;
    return found.map((s) => {
      const ids = tags.slice(s.start, s.end).map((t) => dict.id(t));
      const notNext = new Set<number>();
      if (this.meta.scheme === 'BIO') notNext.add(dict.id(`I-${s.label}`));
      return { ...s, confidence: spanProbability(fb!, scores, data, offset, s.start, ids, notNext) };
    });
  }

  /**
   * The network's emissions of `head`, tensor batch by tensor batch: the
   * sentence indices of each batch, where each sentence's rows begin
   * (`starts`, in rows of K scores) and how many it has, and the scores, no
   * decoding bias applied. Packed batches (models/packing.ts: several
   * sentences per row, at most `batchSize` rows and `pace.maxCells` cells)
   * where the network can pack and packing is on (a packed batch whose rows
   * hold one sentence each runs as the same padded batch, which needs no
   * separator input: about 7% faster at batch 1); else padded batches
   * grouped by inferenceBuckets (by length, cut where padding plus passes
   * cost least). With the pace's pauses before each forward pass and after it.
   */
  private async *emissionBatches(
    sentences: readonly (readonly string[])[],
    batchSize: number,
    head: HeadName,
    pace: Pace,
  ): AsyncGenerator<{ group: number[]; starts: Int32Array; lengths: Int32Array; data: Float32Array }> {
    const segTags = head === 'ner' ? await this.predictSegmentation(sentences, batchSize, pace) : undefined;
    const encode = (i: number) => this.encode(sentences[i], undefined, head, segTags?.[i]);
    const lengths = sentences.map((s) => s.length);
    const padded = () => {
      const batch = makeBatch(group.map(encode));
      return { em: this.emissions(head, batch), starts: Int32Array.from(group, (_, b) => b * batch.steps), lengths: batch.lengths };
    };
    let group: number[];
    if (this.packs()) {
      for (const packed of packRows(lengths, batchSize, pace.maxCells)) {
        const { layout } = packed;
        group = packed.sentences;
        // A batch whose rows hold one sentence each runs padded: the same cells without the separator input.
        const forward = layout.rows === layout.lengths.length ? padded : () => ({ em: this.packedEmissions(head, makePackedBatch(group.map(encode), layout)), starts: layout.starts, lengths: layout.lengths });
        yield { group, ...(await this.tensorBatch(pace, forward)) };
      }
      return;
    }
    for (group of inferenceBuckets(lengths, batchSize, pace.maxCells)) yield { group, ...(await this.tensorBatch(pace, padded)) };
  }

  /**
   * One tensor batch of emissionBatches between the pace's pauses: `forward`
   * builds it and returns its emissions and where each sentence's rows begin;
   * the emissions are read back and freed.
   */
  private async tensorBatch(pace: Pace, forward: () => { em: tf.Tensor; starts: Int32Array; lengths: Int32Array }): Promise<{ starts: Int32Array; lengths: Int32Array; data: Float32Array }> {
    await pace.pause();
    const { em, starts, lengths } = forward();
    const data = (await em.data()) as Float32Array;
    em.dispose();
    await pace.pause();
    return { starts, lengths, data };
  }

  /** True when inference runs packed batches: packing is on and every member network can pack (models/packing.ts). */
  packs(): boolean {
    return packingEnabled() && this.members.every((m) => m.canPack());
  }

  /** Emissions [N, K] of `head` for a packed batch (inference): the network's, or the mean of an ensemble's members'. */
  packedEmissions(head: HeadName, batch: PackedBatch): tf.Tensor2D {
    if (this.members.length === 1) return this.network.packedEmissions(head, batch);
    return tf.tidy(() => tf.div(tf.addN(this.members.map((m) => m.packedEmissions(head, batch))), this.members.length) as tf.Tensor2D);
  }

  /** Emissions [B, T, K] of `head` for a padded batch (inference mode): the network's, or the mean of an ensemble's members'. */
  emissions(head: HeadName, batch: ReturnType<typeof makeBatch>): tf.Tensor3D {
    if (this.members.length === 1) return this.network.emissions(head, batch);
    return tf.tidy(() => tf.div(tf.addN(this.members.map((m) => m.emissions(head, batch))), this.members.length) as tf.Tensor3D);
  }

  /** CRF scores of `head` (transitions, start, end; with the scheme's constraints): the network's, or the mean of an ensemble's members'. */
  crfScores(head: HeadName): CrfScores {
    const all = this.members.map((m) => m.head(head).crf.scores());
    if (all.length === 1) return all[0];
    const mean = (pick: (s: CrfScores) => Float32Array): Float32Array => {
      const out = new Float32Array(pick(all[0]).length);
      for (const s of all) pick(s).forEach((v, i) => (out[i] += v));
      return out.map((v) => v / all.length);
    };
    return { numTags: all[0].numTags, trans: mean((s) => s.trans), start: mean((s) => s.start), end: mean((s) => s.end) };
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
    for await (const { group, starts, lengths, data } of this.emissionBatches(sentences, batchSize, 'ner', Pace.OFF)) {
      group.forEach((sentIndex, b) => {
        const offset = starts[b] * k;
        out[sentIndex] = data.slice(offset, offset + lengths[b] * k);
      });
    }
    return out;
  }

  /**
   * Viterbi spans of one sentence's NER emissions (from nerEmissions) under
   * `bias`, no span threshold applied; `emissions` is not changed. With
   * `withConfidence` each span also carries the confidence predict() gives it
   * at that bias (one forward-backward), for choosing a threshold over them.
   */
  decodeNer(emissions: Float32Array, bias: number, scores?: CrfScores): Span[];
  decodeNer(emissions: Float32Array, bias: number, scores: CrfScores | undefined, withConfidence: true): ScoredSpan[];
  decodeNer(emissions: Float32Array, bias: number, scores = this.crfScores('ner'), withConfidence = false): Span[] | ScoredSpan[] {
    const k = this.nerTags.size;
    const data = bias === 0 ? emissions : emissions.slice();
    this.applyDecodingBias(data, bias);
    const len = data.length / k;
    const { path } = viterbi(scores, data, 0, len);
    const tags = Array.from(path, (id) => this.nerTags.tag(id));
    const found = this.meta.scheme === 'BIOES' ? bioesToSpans(tags) : bioToSpans(tags);
    return withConfidence ? this.withConfidence(scores, data, 0, len, tags, found) : found;
  }

  /** Writes the artifact (weights + manifest) to `dir`; an ensemble in the ensemble format (format version 5). */
  async save(dir: string, extra: Pick<ManifestDraft, 'training' | 'scores'> & { createdAt?: string; calibration?: Record<string, unknown> }): Promise<ModelManifest> {
    const nonOBias = this.meta.nonOBias ?? 0;
    const minSpanConfidence = this.meta.minSpanConfidence ?? 0;
    const ensemble = this.ensemble;
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
        decoding:
          nonOBias !== 0 || minSpanConfidence !== 0 || extra.calibration
            ? { nonOBias, ...(minSpanConfidence !== 0 ? { minSpanConfidence } : {}), calibration: extra.calibration }
            : undefined,
        ensemble: ensemble ? { members: ensemble.map((e, i) => ({ ...e, network: this.members[i].config })) } : undefined,
        tags: { ner: this.nerTags.toJSON(), seg: this.segTags?.toJSON() },
        training: extra.training,
        scores: extra.scores,
      },
      this.params(),
    );
  }

  /** The weights saved: the network's, or each ensemble member's under memberPrefix(i). */
  private params(): ParamMap {
    if (this.ensemble === undefined) return this.network.params();
    const out: ParamMap = new Map();
    this.members.forEach((m, i) => collect(out, memberPrefix(i).slice(0, -1), m.params()));
    return out;
  }

  /**
   * Loads an artifact directory (see models/artifact/). In steps, returning
   * to the event loop between them (a worker keeps serving while it loads a
   * candidate): read and verify the files, build the network (no random
   * initialisation: every weight is assigned next), assign the weights
   * tensor by tensor. An ensemble artifact (manifest.ensemble) loads as a
   * model with its N members.
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
      const meta = { modelId: m.modelId, modelVersion: m.modelVersion, scheme: m.scheme, maxLength: m.maxLength, charPositional: m.charPositional === true, tagFeatures: m.tagFeatures, nonOBias: m.decoding?.nonOBias ?? 0, minSpanConfidence: m.decoding?.minSpanConfidence ?? 0 };
      if (m.ensemble === undefined) model = withoutInit(() => TaggerModel.create(m.network, vocab, nerTags, meta, 0));
      else model = withoutInit(() => ensembleOf(m.ensemble!.members, vocab, nerTags, meta));
    } catch (err) {
      if (err instanceof ModelArtifactError) throw err;
      throw new ModelArtifactError(dir, `inconsistent manifest: ${(err as Error).message}`, { cause: err });
    }
    try {
      await yieldToEventLoop();
      await assignWeights(dir, loaded, model.params());
      model.prepareInference();
    } catch (err) {
      model.dispose();
      throw err;
    }
    return { model, manifest: m };
  }

  /**
   * Builds what inference keeps beside the weights (the fused LSTM kernel's re-ordered weights) now,
   * so that the first tagging call does not add tensors: at load and when a tagger is made of the model.
   */
  prepareInference(): void {
    for (const n of this.members) n.prepareInference();
  }

  /** Frees the networks' tensors. */
  dispose(): void {
    for (const m of this.members) m.dispose();
  }
}

/** Why `other` cannot be averaged with `first` (heads, tag counts, lexical buckets differ), or undefined. */
function memberMismatch(first: NetworkConfig, other: NetworkConfig): string | undefined {
  if (other === first) return undefined;
  for (const h of ['ner', 'seg'] as const) {
    const a = first[h];
    const b = other[h];
    if ((a === undefined) !== (b === undefined)) return `one has a ${h} head, the other not`;
    if (a && b && a.numTags !== b.numTags) return `${h} head: ${b.numTags} tags, not ${a.numTags}`;
    if (a && b && a.lexicalBuckets !== b.lexicalBuckets) return `${h} head: ${b.lexicalBuckets} lexical buckets, not ${a.lexicalBuckets}`;
  }
  if (other.vocabSize !== first.vocabSize) return `vocabSize ${other.vocabSize}, not ${first.vocabSize}`;
  return undefined;
}

/** An ensemble model with uninitialised member networks (weights assigned next), from an ensemble manifest's members. */
function ensembleOf(members: readonly EnsembleMember[], vocab: Vocabulary, nerTags: TagDictionary, meta: TaggerModelMeta): TaggerModel {
  if (!Array.isArray(members) || members.length < 1) throw new Error('ensemble.members must list at least one member');
  const constraints = (c: NetworkConfig) => ({ ner: schemeConstraints(nerTags), seg: c.seg ? segConstraints() : undefined });
  const networks: TaggingNetwork[] = [];
  try {
    for (const e of members) {
      if (e.network.vocabSize !== vocab.size) throw new Error(`member ${e.modelVersion}: network vocabSize ${e.network.vocabSize} != vocabulary size ${vocab.size}`);
      networks.push(new TaggingNetwork(e.network, constraints(e.network), 0));
    }
    return new TaggerModel(networks[0], vocab, nerTags, networks[0].seg ? segTagDictionary() : undefined, meta, { networks, members });
  } catch (err) {
    for (const n of networks) n.dispose();
    throw err;
  }
}

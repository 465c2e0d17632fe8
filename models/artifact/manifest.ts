/**
 * The versioned model artifact: a directory holding
 *   manifest.json  - this structure (format version, hyperparameters,
 *                    vocabulary, tag dictionaries, data fingerprints, scores,
 *                    and the weight table)
 *   weights.bin    - all weights as little-endian float32, concatenated in
 *                    the order of manifest.weights.tensors
 * Training and serving both read and write it through ./save.ts and
 * ./load.ts. Older format versions are migrated in ./load.ts.
 *
 * An ensemble (format version 5, `mentionflow ensemble`) is the same two
 * files: one vocabulary, tag dictionaries and input features shared by N
 * member networks, `ensemble.members` describing each member, and the
 * members' weights in weights.bin named `members/<i>/<weight name>`.
 * Decoding averages the members' CRF potentials (models/taggerModel.ts).
 */
import type { TagFeaturesSpec } from '../features/tagFeatures.js';
import type { NetworkConfig } from '../network/taggingNetwork.js';

export const ARTIFACT_FORMAT = 'mentionflow-model';
/**
 * Highest format version this code reads. Version 2 adds `charPositional`,
 * version 3 `tagFeatures`, version 4 a non-zero `decoding.nonOBias`, version 5
 * `ensemble`, version 6 `tagFeatures.softLexicon`, version 7 a non-zero
 * `decoding.minSpanConfidence`; a manifest is written with the lowest version
 * that describes it (see `manifestVersion`), so a reader that predates a
 * feature refuses those artifacts instead of computing other inputs.
 */
export const ARTIFACT_VERSION = 7;
export const MANIFEST_FILE = 'manifest.json';
export const WEIGHTS_FILE = 'weights.bin';

export interface WeightEntry {
  name: string;
  shape: number[];
  /** Offset in float32 elements into weights.bin. */
  offset: number;
}

export interface DataFingerprint {
  role: string; // e.g. "ner-train", "ner-dev", "seg-train"
  file: string; // base name only
  sha256: string;
  sentences: number;
}

export interface ModelManifest {
  format: typeof ARTIFACT_FORMAT;
  formatVersion: number;
  /** Stable id of this model, e.g. "weibo-ner-bilstm-crf". */
  modelId: string;
  /** Version of this trained model, e.g. an ISO date plus seed. */
  modelVersion: string;
  createdAt: string;
  network: NetworkConfig;
  /** Tag scheme of the NER head. */
  scheme: 'BIO' | 'BIOES';
  /** Longest text the tagger feeds in one piece (code points); longer texts are split. */
  maxLength: number;
  /** Vocabulary.toJSON(). */
  vocabulary: unknown;
  /**
   * The vocabulary holds char-positional tokens ("北0"): the tagger segments
   * its input with jieba (models/text/jiebaSegmenter.ts) before lookup.
   * Absent means plain characters. Format version 2.
   */
  charPositional?: boolean;
  /**
   * Extra sparse features of the NER head from character-level taggings
   * (the segmentation head's predicted BIES tags, name-dictionary matches,
   * with the dictionary's words; SoftLexicon word sets, with the kept
   * entries); see models/features/tagFeatures.ts and softLexicon.ts.
   * Absent means none. Format version 3; 5 with `softLexicon`.
   */
  tagFeatures?: TagFeaturesSpec;
  /**
   * Decoding calibration of the NER head (models/crf/decodingBias.ts):
   * `nonOBias` is added to every non-O emission before Viterbi, chosen on dev
   * by `mentionflow calibrate` (`calibration` records how). Absent means 0:
   * older artifacts decode as they always did. Format version 4 when non-zero.
   * `minSpanConfidence` (0 <= t < 1): NER spans whose CRF probability is
   * below it are dropped (models/crf/spanThreshold.ts), chosen together with
   * the bias (`calibrate --threshold`). Absent means 0. Format version 7 when
   * non-zero: a reader that ignored it would emit the low-confidence mentions
   * the pair was chosen to drop, at a bias chosen to go with the threshold,
   * so older readers must refuse such an artifact rather than decode it.
   */
  decoding?: { nonOBias: number; minSpanConfidence?: number; calibration?: Record<string, unknown> };
  /**
   * Present for an ensemble of N >= 1 networks (in practice 2 or more) sharing this manifest's
   * vocabulary, tags and input features: one entry per member, in the order
   * of their weights (`members/<i>/...`); `network` is member 0's, `training`
   * and `scores` the ensemble's own summary of its members' (older ensemble
   * artifacts carry member 0's training and empty scores); each member's own are here.
   * Absent means a single network. Format version 5.
   */
  ensemble?: { members: EnsembleMember[] };
  /** TagDictionary.toJSON() per head. */
  tags: { ner: unknown; seg?: unknown };
  /**
   * How the model was trained. For an ensemble (models/ensemble.ts
   * `ensembleSummary`): `ensemble` lists each member's seed, epochs and best
   * epoch, `data` is the union of the members' data, `options` the options
   * they all share; `seed` is member 0's and `epochs` / `bestEpoch` are 0 (not
   * trained as one network), so format 5 readers still find numbers there.
   */
  training: {
    seed: number;
    epochs: number;
    bestEpoch: number;
    data: DataFingerprint[];
    options: Record<string, unknown>;
    ensemble?: EnsembleTrainingSummary;
  };
  /** Dev scores at the best epoch (F1 etc., percentages); for an ensemble, `membersDev`: each member's, when they carry them. */
  scores: Record<string, unknown>;
  weights: {
    file: typeof WEIGHTS_FILE;
    dtype: 'float32';
    bytes: number;
    sha256: string;
    tensors: WeightEntry[];
  };
}

/** One member network of an ensemble artifact: where it came from and how it was configured. */
export interface EnsembleMember {
  /** The member's own modelVersion when it was a single artifact. */
  modelVersion: string;
  network: NetworkConfig;
  training: ModelManifest['training'];
  scores: Record<string, unknown>;
}

/** An ensemble's own training record: its members' training in brief, and the options on which they differ. */
export interface EnsembleTrainingSummary {
  members: { modelVersion: string; seed: number; epochs: number; bestEpoch: number }[];
  /** Training options whose values differ between members (they are left out of `training.options`). */
  differingOptions: string[];
}

/** Weight-name prefix of ensemble member `i` in weights.bin. */
export function memberPrefix(i: number): string {
  return `members/${i}/`;
}

/** The format version a manifest is written with: 7 with a span-confidence threshold, 6 with SoftLexicon features, 5 for an ensemble, 4 with a non-zero decoding bias, 3 with tag features, 2 with char-positional inputs, else 1. */
export function manifestVersion(m: Pick<ModelManifest, 'charPositional' | 'tagFeatures' | 'decoding' | 'ensemble'>): number {
  if ((m.decoding?.minSpanConfidence ?? 0) !== 0) return 7;
  if (m.tagFeatures?.softLexicon) return 6;
  if (m.ensemble) return 5;
  if (m.decoding && m.decoding.nonOBias !== 0) return 4;
  if (m.tagFeatures) return 3;
  return m.charPositional ? 2 : 1;
}

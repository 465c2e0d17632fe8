/**
 * Builds an ensemble model from loaded member models (`mentionflow ensemble`):
 * one TaggerModel whose potentials are the mean of the members' CRF
 * log-potentials (models/taggerModel.ts). Members must read the same inputs
 * and predict the same tags: equal vocabulary, tag dictionaries, scheme,
 * maximum length, char-positional flag and tag features (seeds of one
 * configuration are). Their networks may differ in size.
 */
import { ConfigError } from '../common/errors.js';
import { uncalibratedVersion } from './crf/decodingBias.js';
import type { DataFingerprint, EnsembleMember, ModelManifest } from './artifact/manifest.js';
import { TaggerModel } from './taggerModel.js';

/** A loaded single model (TaggerModel.load's result). */
export interface LoadedMember {
  model: TaggerModel;
  manifest: ModelManifest;
  /** Where it was loaded from, for messages. */
  dir: string;
}

export interface EnsembleOptions {
  /** modelVersion of the ensemble; default `ensemble<N>-` plus the members' versions joined by "+". */
  modelVersion?: string;
  /** Decoding bias of the ensemble (added to the averaged non-O emissions); default 0: calibrate it with `mentionflow calibrate`. */
  nonOBias?: number;
}

/** What a member must share with member 0, as comparable JSON. */
function inputsOf(m: ModelManifest): Record<string, string> {
  return {
    vocabulary: JSON.stringify(m.vocabulary),
    'NER tags': JSON.stringify(m.tags.ner),
    'segmentation tags': JSON.stringify(m.tags.seg ?? null),
    scheme: m.scheme,
    maxLength: String(m.maxLength),
    charPositional: String(m.charPositional === true),
    tagFeatures: JSON.stringify(m.tagFeatures ?? null),
  };
}

/**
 * One model averaging `members` (at least one). Takes over their networks:
 * dispose the result, not the members. Throws a ConfigError naming the
 * member and what differs when members do not fit together, or when a
 * member is an ensemble itself (give its members instead).
 */
export function ensembleModel(members: readonly LoadedMember[], opts: EnsembleOptions = {}): TaggerModel {
  if (members.length === 0) throw new ConfigError('an ensemble needs at least one member model');
  const first = inputsOf(members[0].manifest);
  for (const m of members) {
    if (m.manifest.ensemble) throw new ConfigError(`${m.dir} is an ensemble already (${m.manifest.ensemble.members.length} members); list its members instead`);
    const mine = inputsOf(m.manifest);
    for (const key of Object.keys(first)) {
      if (mine[key] !== first[key]) throw new ConfigError(`${m.dir}: its ${key} differs from ${members[0].dir}'s; ensemble members must read the same inputs and tags (seeds of one configuration)`);
    }
  }
  const descriptions: EnsembleMember[] = members.map(({ manifest }) => ({
    modelVersion: manifest.modelVersion,
    network: manifest.network,
    training: manifest.training,
    scores: manifest.scores,
  }));
  const m0 = members[0].model;
  const meta = {
    ...m0.meta,
    modelVersion: opts.modelVersion ?? `ensemble${members.length}-${members.map((m) => uncalibratedVersion(m.manifest.modelVersion)).join('+')}`,
    nonOBias: opts.nonOBias ?? 0,
    // The members' thresholds go as their biases do: calibrate the ensemble itself.
    minSpanConfidence: 0,
  };
  try {
    return new TaggerModel(m0.network, m0.vocab, m0.nerTags, m0.segTags, meta, { networks: members.map((m) => m.model.network), members: descriptions });
  } catch (err) {
    throw new ConfigError(`these models cannot be averaged: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The ensemble's own `training` and `scores` for its manifest, from its
 * members' descriptions: each member's seed, epochs and best epoch; the union
 * of their data fingerprints; the training options they share (those that
 * differ, such as the seed, are named in `differingOptions`); `seed` is
 * member 0's and `epochs` / `bestEpoch` 0, so readers of format 5 find the
 * numbers they expect. Scores: each member's dev scores (`membersDev`) when
 * every member has them; the ensemble itself is not scored here (`eval`).
 */
export function ensembleSummary(members: readonly EnsembleMember[]): Pick<ModelManifest, 'training' | 'scores'> {
  if (members.length === 0) throw new ConfigError('an ensemble needs at least one member model');
  const data = new Map<string, DataFingerprint>();
  for (const m of members) for (const d of m.training.data ?? []) data.set(`${d.role}\u0000${d.sha256}`, d);
  const keys = [...new Set(members.flatMap((m) => Object.keys(m.training.options ?? {})))].sort();
  const options: Record<string, unknown> = {};
  const differing: string[] = [];
  for (const k of keys) {
    const values = members.map((m) => JSON.stringify(m.training.options?.[k]));
    if (values.every((v) => v === values[0])) options[k] = members[0].training.options[k];
    else differing.push(k);
  }
  const devs = members.map((m) => (m.scores as { dev?: unknown } | undefined)?.dev);
  return {
    training: {
      seed: members[0].training.seed,
      epochs: 0,
      bestEpoch: 0,
      data: [...data.values()],
      options,
      ensemble: {
        members: members.map((m) => ({ modelVersion: m.modelVersion, seed: m.training.seed, epochs: m.training.epochs, bestEpoch: m.training.bestEpoch })),
        differingOptions: differing,
      },
    },
    scores: devs.every((d) => d !== undefined) ? { membersDev: devs } : {},
  };
}

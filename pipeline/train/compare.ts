/**
 * Two model artifacts on the same labelled sentences: each tags them, and
 * the paired bootstrap (models/eval/pairedBootstrap.ts) compares the spans.
 * What `mentionflow compare` prints and `mentionflow promote` gates on.
 * Two configurations, each given by the models of its seeds, likewise
 * (compareConfigurations, the seeds bootstrap).
 */
import type { NerSentence } from '../../models/data/conll.js';
import { pairedBootstrap, seedsBootstrap, type BootstrapOptions, type NerComparison, type SeedsComparison } from '../../models/eval/pairedBootstrap.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { detectScheme, tagsToSpans } from '../../models/text/labels.js';
import type { Span } from '../../models/text/spans.js';

/** A compared model: where it lives and what its manifest says. */
export interface ComparedModel {
  dir: string;
  id: string;
  version: string;
  /** The NER labels the model predicts. */
  labels: string[];
}

/** A comparison of two models on one data set. */
export interface ModelComparison {
  baseline: ComparedModel;
  candidate: ComparedModel;
  comparison: NerComparison;
  /** Labels of the gold data that a model never predicts, per model (empty when none). */
  unknownLabels: { baseline: string[]; candidate: string[] };
}

/** The spans `model` predicts for each sentence. */
export async function predictSpans(model: TaggerModel, sentences: readonly NerSentence[], batchSize = 64): Promise<Span[][]> {
  const preds = await model.predict(
    sentences.map((s) => s.chars),
    batchSize,
  );
  return preds.map((p) => p.spans);
}

/** The gold spans of the non-empty sentences, and the labels they use. */
function goldOf(sentences: readonly NerSentence[]): { data: NerSentence[]; gold: Span[][]; goldLabels: string[] } {
  const data = sentences.filter((s) => s.chars.length > 0);
  const scheme = detectScheme(data.map((s) => s.tags));
  const gold = data.map((s) => tagsToSpans(s.tags, scheme));
  return { data, gold, goldLabels: [...new Set(gold.flat().map((s) => s.label))].sort() };
}

/** Loads an artifact (ModelArtifactError when it does not load), tags `data` with it, and disposes it. */
async function tagWith(dir: string, data: readonly NerSentence[], batchSize?: number): Promise<{ info: ComparedModel; spans: Span[][] }> {
  const { model, manifest } = await TaggerModel.load(dir);
  try {
    const info = { dir, id: manifest.modelId, version: manifest.modelVersion, labels: [...model.nerTags.labels] };
    return { info, spans: await predictSpans(model, data, batchSize) };
  } finally {
    model.dispose();
  }
}

/** The labels of the gold data that a model never predicts. */
const unknownOf = (goldLabels: readonly string[], m: ComparedModel): string[] => goldLabels.filter((l) => !m.labels.includes(l));

/**
 * Loads the two artifacts one after the other (ModelArtifactError when one
 * does not load), tags `sentences` with each, disposes it, and compares.
 */
export async function compareModels(baselineDir: string, candidateDir: string, sentences: readonly NerSentence[], options: BootstrapOptions & { batchSize?: number } = {}): Promise<ModelComparison> {
  const { data, gold, goldLabels } = goldOf(sentences);
  const base = await tagWith(baselineDir, data, options.batchSize);
  const cand = await tagWith(candidateDir, data, options.batchSize);
  return {
    baseline: base.info,
    candidate: cand.info,
    comparison: pairedBootstrap(gold, base.spans, cand.spans, options),
    unknownLabels: { baseline: unknownOf(goldLabels, base.info), candidate: unknownOf(goldLabels, cand.info) },
  };
}

/** A comparison of two configurations (the models of their seeds) on one data set. */
export interface ConfigurationComparison {
  baseline: ComparedModel[];
  candidate: ComparedModel[];
  comparison: SeedsComparison;
  /** Labels of the gold data that no model of a side predicts, per side (empty when none). */
  unknownLabels: { baseline: string[]; candidate: string[] };
}

/**
 * Loads each artifact of the two configurations in turn (one model in memory
 * at a time), tags `sentences` with it, and compares the configurations'
 * mean scores (seedsBootstrap).
 */
export async function compareConfigurations(
  baselineDirs: readonly string[],
  candidateDirs: readonly string[],
  sentences: readonly NerSentence[],
  options: BootstrapOptions & { batchSize?: number } = {},
): Promise<ConfigurationComparison> {
  const { data, gold, goldLabels } = goldOf(sentences);
  const base = [];
  for (const dir of baselineDirs) base.push(await tagWith(dir, data, options.batchSize));
  const cand = [];
  for (const dir of candidateDirs) cand.push(await tagWith(dir, data, options.batchSize));
  const unknown = (side: { info: ComparedModel }[]): string[] => goldLabels.filter((l) => side.every((m) => unknownOf(goldLabels, m.info).includes(l)));
  return {
    baseline: base.map((m) => m.info),
    candidate: cand.map((m) => m.info),
    comparison: seedsBootstrap(
      gold,
      base.map((m) => m.spans),
      cand.map((m) => m.spans),
      options,
    ),
    unknownLabels: { baseline: unknown(base), candidate: unknown(cand) },
  };
}

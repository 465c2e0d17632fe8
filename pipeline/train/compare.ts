/**
 * Two model artifacts on the same labelled sentences: each tags them, and
 * the paired bootstrap (models/eval/pairedBootstrap.ts) compares the spans.
 * What `mentionflow compare` prints and `mentionflow promote` gates on.
 */
import type { NerSentence } from '../../models/data/conll.js';
import { pairedBootstrap, type BootstrapOptions, type NerComparison } from '../../models/eval/pairedBootstrap.js';
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

/**
 * Loads the two artifacts one after the other (ModelArtifactError when one
 * does not load), tags `sentences` with each, disposes it, and compares.
 */
export async function compareModels(baselineDir: string, candidateDir: string, sentences: readonly NerSentence[], options: BootstrapOptions & { batchSize?: number } = {}): Promise<ModelComparison> {
  const data = sentences.filter((s) => s.chars.length > 0);
  const scheme = detectScheme(data.map((s) => s.tags));
  const gold = data.map((s) => tagsToSpans(s.tags, scheme));
  const goldLabels = [...new Set(gold.flat().map((s) => s.label))].sort();
  const run = async (dir: string): Promise<{ info: ComparedModel; spans: Span[][] }> => {
    const { model, manifest } = await TaggerModel.load(dir);
    try {
      const info = { dir, id: manifest.modelId, version: manifest.modelVersion, labels: [...model.nerTags.labels] };
      return { info, spans: await predictSpans(model, data, options.batchSize) };
    } finally {
      model.dispose();
    }
  };
  const base = await run(baselineDir);
  const cand = await run(candidateDir);
  const unknown = (m: ComparedModel): string[] => goldLabels.filter((l) => !m.labels.includes(l));
  return {
    baseline: base.info,
    candidate: cand.info,
    comparison: pairedBootstrap(gold, base.spans, cand.spans, options),
    unknownLabels: { baseline: unknown(base.info), candidate: unknown(cand.info) },
  };
}
